/**
 * Where a tracker listens (the brief's client contract). The client area owns this file and
 * adds parseBootpageTrackerSpec; the bootpage area turns a verified bootpage into these.
 */
export interface TrackerAddress {
  host: string
  udp: number | null
  tcp: number | null
  name?: string
  /** hex */
  key?: string
}
