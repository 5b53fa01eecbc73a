package dev.penstock.mock;

import java.util.List;

/**
 * One URL on which the simulator generates an answer: the path pattern, what it generates and the
 * provider surface it belongs to. {@link #ALL} is the whole table, so that every path the simulator
 * serves is listed in one place.
 */
record Route(String path, Endpoint endpoint, Surface surface) {
  static final String DEPLOYMENT = "deployment";

  static final List<Route> ALL =
      List.of(
          new Route("/v1/chat/completions", Endpoint.CHAT, Surface.OPENAI),
          new Route("/v1/completions", Endpoint.COMPLETIONS, Surface.OPENAI),
          new Route("/v1/embeddings", Endpoint.EMBEDDINGS, Surface.OPENAI),
          new Route("/v1/responses", Endpoint.RESPONSES, Surface.OPENAI),
          azureDeployment("chat/completions", Endpoint.CHAT),
          azureDeployment("completions", Endpoint.COMPLETIONS),
          azureDeployment("embeddings", Endpoint.EMBEDDINGS),
          // Microsoft documents the Responses API at /openai/responses, with the deployment as the
          // body's "model". The official openai-java SDK's legacy Azure mode sends it to
          // /openai/deployments/{model}/responses instead, so that form is served too.
          new Route("/openai/responses", Endpoint.RESPONSES, Surface.AZURE_CLASSIC),
          azureDeployment("responses", Endpoint.RESPONSES),
          // The v1 API serves chat completions, embeddings and responses, not legacy completions.
          new Route("/openai/v1/chat/completions", Endpoint.CHAT, Surface.AZURE_V1),
          new Route("/openai/v1/embeddings", Endpoint.EMBEDDINGS, Surface.AZURE_V1),
          new Route("/openai/v1/responses", Endpoint.RESPONSES, Surface.AZURE_V1));

  private static Route azureDeployment(String operation, Endpoint endpoint) {
    return new Route(
        "/openai/deployments/{" + DEPLOYMENT + "}/" + operation,
        endpoint,
        Surface.AZURE_DEPLOYMENT);
  }
}
