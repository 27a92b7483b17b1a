/**
 * §8.5: the `name` sort order. Names compare by Unicode code point, which is the byte order of
 * their UTF-8 encoding: no case folding, no locale ('B' sorts before 'a'). JavaScript's `<` on
 * strings compares UTF-16 code units instead, which differs when a character above U+FFFF meets
 * one in U+E000–U+FFFF; this function does not.
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    // A surrogate is half of a code point above U+FFFF: it sorts after every BMP character.
    const xs = x >= 0xd800 && x <= 0xdfff
    const ys = y >= 0xd800 && y <= 0xdfff
    if (xs !== ys) return xs ? 1 : -1
    return x < y ? -1 : 1
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
}

/** §8.5: free slots of a server; a server with players ≥ maxPlayers has none (never negative). */
export function roomOf(players: number, maxPlayers: number): number {
  return Math.max(0, maxPlayers - players)
}
