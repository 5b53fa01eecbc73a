package dev.penstock.server.pipeline;

/**
 * Keeps an eye on the client for the rest of the request's way: while it is registered with the
 * {@link ClientWatch}, a client that closes its connection, or stops reading its answer, cancels
 * the call — a wait for capacity is withdrawn, an upstream call is closed.
 */
final class WatchStage implements Stage {
  private final ClientWatch watch;

  WatchStage(ClientWatch watch) {
    this.watch = watch;
  }

  @Override
  public void serve(ProxyCall call, Chain chain) throws InterruptedException {
    ClientWatch.Watched watched = watch.watch(call.exchange(), call.cancel());
    try {
      chain.proceed(call);
    } finally {
      watched.close();
    }
  }
}
