/** Where a client stands in a channel's history: everything up to `serial` of `epoch`. */
export interface HistoryPosition {
  epoch: string;
  serial: number;
}

export interface RecoveryOptions {
  /**
   * Called when a reconnect missed events of `channel` that pushbus no longer keeps
   * (evicted, expired, or the history started over): refetch what the page shows.
   */
  onGap?: (channel: string, position: HistoryPosition) => void;
}

export interface Recovery {
  /** The last place seen in `channel`'s history, if any. */
  position(channel: string): HistoryPosition | undefined;
  /** Stops resuming subscriptions. */
  disable(): void;
}

/**
 * Makes a Laravel Echo instance (or a pusher-js `Pusher`) resume its history channels
 * after a reconnect, with no event lost or repeated. See the package README.
 */
export function enableRecovery(target: object, options?: RecoveryOptions): Recovery;
