package dev.penstock.mock;

/**
 * Which provider's URL shape a generating request arrived on. The shape decides where the model
 * comes from, whether the {@code api-version} query parameter is required, and in whose words an
 * authentication or routing failure is answered.
 *
 * <p>The Azure shapes are Azure OpenAI's documented data-plane URLs (see docs/mock.md for the
 * sources): the classic {@code /openai/deployments/{deployment}/...?api-version=...}, the classic
 * Responses API {@code /openai/responses?api-version=...} (the deployment is the body's {@code
 * model}), and the v1 API {@code /openai/v1/...}, where {@code api-version} is optional.
 */
enum Surface {
  /** OpenAI: {@code /v1/...}; the body names the model. */
  OPENAI(false, false, false),
  /** Azure's classic data plane: the deployment in the URL answers, whatever the body says. */
  AZURE_DEPLOYMENT(true, true, true),
  /**
   * Azure's classic URLs outside a deployment ({@code /openai/responses}, {@code /openai/models}):
   * {@code api-version} required; the body's model names the deployment.
   */
  AZURE_CLASSIC(true, true, false),
  /** Azure's v1 API: OpenAI's paths under {@code /openai/v1}, {@code api-version} optional. */
  AZURE_V1(true, false, false);

  private final boolean azure;
  private final boolean requiresApiVersion;
  private final boolean modelFromPath;

  Surface(boolean azure, boolean requiresApiVersion, boolean modelFromPath) {
    this.azure = azure;
    this.requiresApiVersion = requiresApiVersion;
    this.modelFromPath = modelFromPath;
  }

  /** Errors of authentication and routing are worded as Azure words them. */
  boolean azure() {
    return azure;
  }

  /** A request without {@code ?api-version=} is answered {@code 404 Resource not found}. */
  boolean requiresApiVersion() {
    return requiresApiVersion;
  }

  /** The {@code {deployment}} path parameter is the model; the body's {@code model} is ignored. */
  boolean modelFromPath() {
    return modelFromPath;
  }
}
