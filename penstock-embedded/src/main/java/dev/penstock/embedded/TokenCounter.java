package dev.penstock.embedded;

/**
 * Counts the tokens of a prompt text, for the TPM charge reserved before a request is sent.
 *
 * <p>The default, {@link #CHARACTERS}, is OpenAI's own rule of thumb and the basis of how it counts
 * a request against TPM: one token per four characters, rounded up. It needs no tokenizer tables
 * (tens of MB and a second to load), and the upstream's {@code x-ratelimit-remaining-tokens}
 * corrects Penstock's view where it is off. An application that wants the gateway's exact count
 * plugs in a tiktoken-compatible counter, e.g. jtokkit: {@code (model, text) ->
 * encoding.countTokens(text)}. Must be thread-safe.
 */
@FunctionalInterface
public interface TokenCounter {
  /** Four characters a token, rounded up. */
  TokenCounter CHARACTERS = (model, text) -> (text.length() + 3) / 4;

  int count(String model, String text);
}
