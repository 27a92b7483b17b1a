/**
 * Every operational or configuration error metatracker raises carries a stable string `code`
 * from this registry; `TypeError`/`RangeError` are for programmer misuse only (docs/errors.md,
 * "Which errors carry a code"). Match on `code`, never on the message. Codes are documented in
 * docs/errors.md (a test keeps the two in step and pins their number) and a retired code is
 * never reused.
 */
export const ERROR_CODES = {
  // src/wire: decoding and encoding of protocol bytes
  WIRE_TRUNCATED: 'a field runs past the end of the message',
  WIRE_TRAILING_BYTES: 'bytes remain after the last field',
  WIRE_BAD_VERSION: 'the protocol version in the first byte is not 1',
  WIRE_BAD_TYPE: 'the message type in the first byte is unknown',
  WIRE_TOO_MANY_ITEMS: 'a count exceeds its cap',
  WIRE_STRING_TOO_LONG: 'a string exceeds its byte cap',
  WIRE_BAD_STRING:
    'a string is not valid UTF-8, is empty where required, or holds control characters',
  WIRE_BAD_ENDPOINT: 'an endpoint has an unknown family, a bad address or port 0',
  WIRE_BAD_VALUE: 'a field holds a value outside its allowed range',
  WIRE_MESSAGE_TOO_LARGE: 'the message exceeds its size cap',
  WIRE_FRAME_TOO_LARGE: 'a TCP frame declares a length above the frame cap',
  WIRE_FRAME_EMPTY: 'a TCP frame declares a length of 0',
  // src/crypto: keys and signatures
  KEY_READ_FAILED: 'the key file cannot be read',
  KEY_BAD_FORMAT: 'the key file is not a PEM PKCS#8 Ed25519 private key',
  KEY_EXISTS: 'refusing to overwrite an existing key file',
  KEY_BAD_PUBLIC: 'a public key is not 32 bytes of hex',
  VERIFY_POOL_CLOSED: 'the signature verify pool was closed while records waited for it',
  // src/table, src/tracker, src/net: options, data directory, listeners
  CONFIG_BAD_OPTION: 'an option has a value outside its allowed range (the message names it)',
  CONFIG_READ_FAILED: 'the configuration file cannot be read or is not valid JSON',
  TRACKER_DATA_DIR: 'the data directory or a file in it cannot be read or written',
  TRACKER_BIND_FAILED: 'a listener cannot bind its address and port',
  // src/ops, src/throttle: config file, deny list, checkpoint, egress budget
  CONFIG_UNKNOWN_OPTION: 'the configuration names an option that does not exist',
  DENY_READ_FAILED: 'the deny-list file cannot be read',
  DENY_BAD_LINE: 'a deny-list line is not a public key, an IP address or a CIDR block',
  CHECKPOINT_CORRUPT:
    'the checkpoint file is truncated, fails its checksum or is malformed (it is kept aside)',
  CHECKPOINT_VERSION: 'the checkpoint file has a format version this build cannot read',
  CHECKPOINT_WRITE_FAILED: 'the checkpoint could not be written to the data directory',
  CHECKPOINT_READ_FAILED: 'the checkpoint file exists but cannot be read',
  EGRESS_QUEUE_FULL: 'the TCP egress queue is full: the reply is refused and the connection closed',
  EGRESS_CLOSED: 'the egress budget was closed while a reply waited for it',
  // src/store: the shared store (docs/scale-out.md)
  STORE_UNAVAILABLE:
    'the shared store (Redis) cannot be reached or did not answer in time: the write is refused',
  STORE_BUSY: 'too many writes to the shared store are pending: the write is refused',
  STORE_BAD_URL:
    'the --store value is not memory, redis://HOST:PORT or redis-cluster://HOST:PORT,...',
  // src/bootpage, src/client/bootpage-source.ts: the signed list of trackers (docs/bootpage.md)
  BOOTPAGE_TOO_LARGE: 'the bootpage exceeds its size cap',
  BOOTPAGE_BAD_JSON: 'the bootpage is not UTF-8 JSON',
  BOOTPAGE_BAD_SHAPE: 'a bootpage field is missing, of the wrong type, out of range or over a cap',
  BOOTPAGE_NOT_CANONICAL:
    'a value cannot be canonicalised (only strings, safe integers, arrays and objects)',
  BOOTPAGE_BAD_SIGNATURE: 'a signature on the bootpage does not verify',
  BOOTPAGE_THRESHOLD_NOT_MET: "fewer than the threshold of the page's own operators signed it",
  BOOTPAGE_NOT_PINNED:
    'fewer than the required number of pinned (or current) operator keys signed it',
  BOOTPAGE_EXPIRED: 'the bootpage is past its valid-until time',
  BOOTPAGE_NOT_YET_VALID: 'the bootpage was issued in the future',
  BOOTPAGE_ROLLBACK: 'the bootpage sequence is lower than one already accepted',
  BOOTPAGE_SEQUENCE_REUSED: 'a different bootpage carries the sequence of one already accepted',
  BOOTPAGE_WRONG_NETWORK: 'the bootpage is for another network',
  BOOTPAGE_NOT_VALID: 'the bootpage did not pass verification',
  BOOTPAGE_READ_FAILED: 'the bootpage file cannot be read',
  BOOTPAGE_FETCH_FAILED:
    'the bootpage URL cannot be fetched (network error, timeout or HTTP status)',
  BOOTPAGE_BAD_SPEC: 'a tracker, operator or pin specification is malformed',
  BOOTPAGE_PAGES_DIFFER: 'the drafts to merge are not the same page',
  BOOTPAGE_BAD_TEMPLATE: 'the page template or an inlined asset is unusable',
  BOOTPAGE_WRITE_FAILED: 'the bootpage or the built page cannot be written to its destination',
  BOOTPAGE_STAMP_MISSING: 'the page declares freshness stamps and none could be read',
  BOOTPAGE_STAMP_EXPIRED: 'the freshness stamp is past its expiry',
  BOOTPAGE_STAMP_WRONG_PAGE:
    'the freshness stamp is for another page (digest, sequence or network)',
  BOOTPAGE_STAMP_BAD_SIGNATURE:
    'a stamp signature does not verify or is by no stamp key of the page',
  BOOTPAGE_STAMP_THRESHOLD_NOT_MET:
    "fewer than the threshold of the page's stamp keys signed the stamp",
  BOOTPAGE_STAMP_TOO_LONG: "the stamp lives longer than the page's maxLifetime",
  BOOTPAGE_STAMP_NOT_YET_VALID: 'the stamp was issued in the future',
  BOOTPAGE_STAMP_ROLLBACK: 'the stamp is older than one already accepted for the same page',
  // src/client: announcer, querier, transports, tracker lists
  CLIENT_BAD_TRACKER: 'a tracker address is not HOST:PORT or [IPv6]:PORT',
  CLIENT_BAD_OPTION: 'a client option is missing or out of range',
  CLIENT_TIMEOUT: 'the tracker did not answer in time',
  CLIENT_ABORTED: 'the operation was cancelled',
  CLIENT_CLOSED: 'the client is closed',
  CLIENT_UNREACHABLE: 'the tracker could not be resolved or connected to',
  CLIENT_REFUSED: 'the tracker answered with an error code',
  CLIENT_BAD_REPLY: 'the tracker sent a reply of the wrong type or an unreadable one',
  CLIENT_ALL_FAILED: 'no tracker answered',
  CLIENT_PARTIAL: 'more entries matched than arrived, and the rest could not be fetched',
  TRANSPORT_REFUSED:
    'the tracker reset the TCP connection (at its connection cap, this address over its share, or a frame too slow): retry later',
  TRANSPORT_CLOSED: 'the tracker closed the TCP connection before sending every reply',
  // src/cli: the commands
  CLI_NO_TRACKERS:
    'no tracker given: use --tracker HOST:PORT (repeatable) or --bootpage FILE|URL --pin KEYS',
  CLI_BAD_RECORD: 'the record to announce breaks a protocol cap (the message names the field)',
  CLI_USAGE:
    'the command line is not understood: an unknown command or option, a missing or bad value',
  CLI_UNEXPECTED:
    'the command failed with an error that has no code of its own (a bug: please report it)',
  SELFCHECK_FAILED:
    'the protocol self-check failed: a sign, encode, decode or verify step disagreed',
  DOCTOR_PROBLEMS: 'the NAT doctor found at least one problem (each is printed with its advice)',
  // src/observe: HTTP status/API/metrics, listing ports; the `stats` command
  HTTP_NOT_FOUND: 'no such path',
  HTTP_METHOD_NOT_ALLOWED:
    'the path does not serve this method (the Allow header lists those it does)',
  HTTP_URL_TOO_LONG: 'the request URL exceeds its cap',
  HTTP_BAD_QUERY: 'a query parameter is missing, repeated, unknown or out of range',
  HTTP_BAD_REQUEST: 'the HTTP request is malformed or its headers are too large',
  HTTP_TIMEOUT: 'the HTTP request was not received in time',
  HTTP_RATE_LIMITED: 'too many requests from this address',
  HTTP_INTERNAL: 'the request failed inside the tracker',
  HTTP_BODY_TOO_LARGE: 'the request body exceeds its cap (an announce: the largest record)',
  HTTP_UNSUPPORTED_MEDIA_TYPE: 'the request body is not of the type the path takes',
  STATS_CONNECT_FAILED: 'cannot connect to the tracker',
  STATS_TIMEOUT: 'the tracker did not answer in time',
  STATS_BAD_REPLY: 'the tracker sent something other than a stats-reply',
  STATS_REFUSED: 'the tracker answered the stats-request with an error',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

/** Base class of all metatracker errors. `code` is the contract; the class is a convenience. */
export class TrackerError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message?: string, options?: ErrorOptions) {
    super(message ?? ERROR_CODES[code], options)
    this.name = 'TrackerError'
    this.code = code
  }
}

export type WireErrorKind = Extract<ErrorCode, `WIRE_${string}`>

/** The only error a decoder in src/wire may throw. */
export class WireError extends TrackerError {
  declare readonly code: WireErrorKind

  constructor(code: WireErrorKind, detail?: string) {
    super(code, detail === undefined ? ERROR_CODES[code] : `${ERROR_CODES[code]}: ${detail}`)
    this.name = 'WireError'
  }
}

export function isTrackerError(err: unknown): err is TrackerError {
  return err instanceof TrackerError
}
