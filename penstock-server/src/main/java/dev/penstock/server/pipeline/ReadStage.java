package dev.penstock.server.pipeline;

import dev.penstock.server.openai.ApiError;
import dev.penstock.server.openai.OpenAiRequest;

/**
 * Read and validate: the body, read once from the socket; the fields the gateway relies on, checked
 * in OpenAI's words; the model, which must be one this gateway serves (checked before the prompt's
 * tokens are counted, which costs CPU); the token estimate.
 */
final class ReadStage implements Stage {
  private final boolean keepBodies;

  /**
   * @param keepBodies whether request bodies go into the record ({@code logging.log_bodies})
   */
  ReadStage(boolean keepBodies) {
    this.keepBodies = keepBodies;
  }

  @Override
  public void serve(ProxyCall call, Chain chain) throws InterruptedException {
    byte[] body = call.exchange().body();
    if (keepBodies) {
      call.record().body(body);
    }
    Pipeline.Routing routing = call.routing();
    OpenAiRequest request =
        routing
            .reader()
            .read(
                call.endpoint(),
                body,
                model -> {
                  if (!routing.models().contains(model)) {
                    throw ApiError.modelNotFound(model);
                  }
                });
    call.record().request(request.model(), request.stream());
    call.request(request);
    chain.proceed(call);
  }
}
