package dev.penstock.server.pipeline;

/**
 * One step of a proxied request's way, with one job: it either answers the client itself (an error,
 * later a cache hit) or passes the request on with {@link Chain#proceed}, at most once. What a
 * stage acquires it releases on every path out of it, in a {@code finally} or a try-with-resources
 * around {@code proceed}.
 *
 * <p>The stages are assembled in one place, in order ({@link Pipeline#standard}), as OkHttp
 * assembles its interceptors. Called on the request's own virtual thread; a stage may block.
 */
@FunctionalInterface
interface Stage {
  void serve(ProxyCall call, Chain chain) throws InterruptedException;
}
