/*
 * The one Lua script every write runs (EVALSHA through ioredis' defineCommand), atomic and
 * single-slot: its seven keys share one hash tag, the bucket (docs/scale-out.md §2). Keys:
 *   h HASH  table key -> value (header "block\twide\tfamily\taddress\tport\tseenMs\tproven\n"
 *           then the verified record bytes)
 *   l ZSET  table key -> last announce, ms (LRU order)
 *   e ZSET  table key -> expiry, ms (expiry order, trimmed here: no HEXPIRE on Redis 7.0)
 *   q HASH  table key -> seq high-water (held, left or withdrawn: the replay memory)
 *   z ZSET  table key -> when q may forget it, ms
 *   c HASH  n (entries), b (bytes charged), v (events appended), k<block> / w<wide> counts
 *   x STREAM the bucket's changes, capped (XADD MAXLEN ~)
 * ARGV: op, now ms, memory ms, per-entry overhead, stream cap, origin, then the op's own.
 */
export const STORE_SCRIPT = `
local h, l, e, q, z, c, x = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local life = tonumber(ARGV[3])
local overhead = tonumber(ARGV[4])
local maxlen = ARGV[5]
local origin = ARGV[6]

local function event(...)
  local n = redis.call('HINCRBY', c, 'v', 1)
  redis.call('XADD', x, 'MAXLEN', '~', maxlen, '*', 'n', n, 'o', origin, ...)
end

local function remove(k, remember)
  local v = redis.call('HGET', h, k)
  if not v then return false end
  local blk, wid = string.match(v, '^([^\\t]*)\\t([^\\t]*)\\t')
  redis.call('HDEL', h, k)
  redis.call('ZREM', l, k)
  redis.call('ZREM', e, k)
  redis.call('HINCRBY', c, 'n', -1)
  redis.call('HINCRBY', c, 'b', -(#v + #k + overhead))
  if redis.call('HINCRBY', c, 'k' .. blk, -1) <= 0 then redis.call('HDEL', c, 'k' .. blk) end
  if redis.call('HINCRBY', c, 'w' .. wid, -1) <= 0 then redis.call('HDEL', c, 'w' .. wid) end
  if remember then redis.call('ZADD', z, now + life, k) end
  return true
end

local function leave(k)
  local s = redis.call('HGET', q, k)
  if remove(k, true) then event('t', 'd', 'k', k, 's', s or '0') end
end

-- A remembered seq whose forget time came: kept while its key is still held (pushed to the
-- key's end plus the memory's life), else forgotten.
local function forgetOrKeep(m)
  local u = redis.call('ZSCORE', e, m)
  if u then
    redis.call('ZADD', z, tonumber(u) + life, m)
  else
    redis.call('HDEL', q, m)
    redis.call('ZREM', z, m)
  end
end

local function trim(most)
  local gone = redis.call('ZRANGEBYSCORE', e, '-inf', now, 'LIMIT', 0, most)
  for _, m in ipairs(gone) do leave(m) end
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0, most)
  for _, m in ipairs(old) do
    forgetOrKeep(m)
  end
  return #gone
end

local function stale(k, seq)
  local hw = redis.call('HGET', q, k)
  return hw and seq <= tonumber(hw)
end

local function count(name)
  return tonumber(redis.call('HGET', c, name) or '0')
end

if op == 'put' then
  local k, seq, v, untilMs = ARGV[7], tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
  local blockCap, wideCap = tonumber(ARGV[11]), tonumber(ARGV[12])
  local maxN, maxB, memCap = tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])
  trim(4)
  if stale(k, seq) then return {'stale'} end
  if untilMs <= now then return {'table-full'} end
  local blk, wid = string.match(v, '^([^\\t]*)\\t([^\\t]*)\\t')
  local old = redis.call('HGET', h, k)
  local oblk, owid
  if old then oblk, owid = string.match(old, '^([^\\t]*)\\t([^\\t]*)\\t') end
  if oblk ~= blk and count('k' .. blk) >= blockCap then return {'block-full'} end
  if owid ~= wid and count('w' .. wid) >= wideCap then return {'block-full'} end
  if old then remove(k, false) end
  redis.call('HSET', h, k, v)
  redis.call('ZADD', l, now, k)
  redis.call('ZADD', e, untilMs, k)
  redis.call('HSET', q, k, seq)
  redis.call('ZADD', z, untilMs + life, k)
  local n = redis.call('HINCRBY', c, 'n', 1)
  local b = redis.call('HINCRBY', c, 'b', #v + #k + overhead)
  redis.call('HINCRBY', c, 'k' .. blk, 1)
  redis.call('HINCRBY', c, 'w' .. wid, 1)
  event('t', 'p', 'v', v)
  local evicted = 0
  while n > maxN or b > maxB do
    local victim = redis.call('ZRANGE', l, 0, 0)[1]
    if not victim then break end
    leave(victim)
    if victim == k then return {'table-full', evicted} end
    evicted = evicted + 1
    n, b = count('n'), count('b')
  end
  local tries = 0
  while redis.call('HLEN', q) > memCap and tries < 4 do
    tries = tries + 1
    local m = redis.call('ZRANGE', z, 0, 0)[1]
    if not m then break end
    forgetOrKeep(m)
  end
  if old then return {'replaced', evicted} end
  return {'new', evicted}
elseif op == 'refresh' then
  local k, seq, untilMs = ARGV[7], ARGV[8], tonumber(ARGV[9])
  if redis.call('HGET', q, k) ~= seq or redis.call('HEXISTS', h, k) == 0 then return {'gone'} end
  redis.call('ZADD', l, now, k)
  redis.call('ZADD', e, untilMs, k)
  event('t', 'f', 'k', k, 's', seq)
  return {'ok'}
elseif op == 'proof' then
  local k, seq = ARGV[7], ARGV[8]
  if redis.call('HGET', q, k) ~= seq or redis.call('HEXISTS', h, k) == 0 then return {'gone'} end
  event('t', 'r', 'k', k, 's', seq, 'm', ARGV[9], 'a', ARGV[10])
  return {'ok'}
elseif op == 'withdraw' then
  local k, seq, v = ARGV[7], tonumber(ARGV[8]), ARGV[9]
  trim(4)
  if stale(k, seq) then return {'stale'} end
  local held = remove(k, false)
  redis.call('HSET', q, k, seq)
  redis.call('ZADD', z, now + life, k)
  event('t', 'w', 'v', v)
  if held then return {'held'} end
  return {'none'}
elseif op == 'delete' then
  local k = ARGV[7]
  if redis.call('HEXISTS', h, k) == 0 then return {'none'} end
  leave(k)
  return {'held'}
elseif op == 'trim' then
  return {'ok', trim(tonumber(ARGV[7]))}
end
return redis.error_reply('unknown op')
`

/** Rotates the shared secret when due; returns [current, previous, rotatedAt, generation]. */
export const SECRET_SCRIPT = `
local now, period, fresh = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local cur = redis.call('HGET', KEYS[1], 'cur')
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
if not cur then
  redis.call('HSET', KEYS[1], 'cur', fresh, 'prev', '', 'at', now, 'gen', 1)
elseif now - at >= period then
  redis.call('HSET', KEYS[1], 'prev', cur, 'cur', fresh, 'at', now)
  redis.call('HINCRBY', KEYS[1], 'gen', 1)
end
return redis.call('HMGET', KEYS[1], 'cur', 'prev', 'at', 'gen')
`
