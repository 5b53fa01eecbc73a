package dev.penstock.server.pipeline;

import dev.penstock.core.time.Ticker;
import dev.penstock.server.telemetry.RequestObserver;

/**
 * Record: the outermost stage. However the request ends below — answered, refused, failed, its
 * client gone, or an exception nobody expected — the observers (metrics, access log, dashboard)
 * hear of it exactly once, when it is over.
 */
final class RecordStage implements Stage {
  private final RequestObserver observer;
  private final Ticker ticker;

  RecordStage(RequestObserver observer, Ticker ticker) {
    this.observer = observer;
    this.ticker = ticker;
  }

  @Override
  public void serve(ProxyCall call, Chain chain) throws InterruptedException {
    try {
      chain.proceed(call);
    } finally {
      call.record().end(ticker.nanos());
      observer.completed(call.record());
    }
  }
}
