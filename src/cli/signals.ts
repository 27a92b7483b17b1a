/**
 * Stop signals for long-running commands. The CLI is the only layer that touches `process`.
 */
export interface StopSignal {
  /** Resolves with the name of the first SIGINT or SIGTERM. */
  readonly stopped: Promise<NodeJS.Signals>
  /** Remove the handlers (so a second Ctrl-C kills the process as usual). */
  dispose(): void
}

export function onStopSignal(): StopSignal {
  let resolve: (s: NodeJS.Signals) => void = () => undefined
  const stopped = new Promise<NodeJS.Signals>(r => {
    resolve = r
  })
  const handler = (signal: NodeJS.Signals): void => {
    dispose()
    resolve(signal)
  }
  const dispose = (): void => {
    process.off('SIGINT', handler)
    process.off('SIGTERM', handler)
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return { stopped, dispose }
}
