package com.example.embedded;

import com.openai.client.OpenAIClient;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.penstock.embedded.Penstock;
import dev.penstock.embedded.openai.PenstockOpenAI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Builds a Penstock from penstock.yaml and sends chat completions through the official OpenAI SDK:
 * every call is paced over the keys of the file, in this process — no gateway to run.
 *
 * <pre>
 * OPENAI_KEY_A=sk-... OPENAI_KEY_B=sk-... java -jar ... [penstock.yaml] [calls]
 * </pre>
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    Path config = Path.of(args.length > 0 ? args[0] : "penstock.yaml");
    int calls = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    try (Penstock penstock = Penstock.fromYaml(config)) {
      OpenAIClient openai = PenstockOpenAI.client(penstock);
      ChatCompletionCreateParams params =
          ChatCompletionCreateParams.builder()
              .model("gpt-4o-mini")
              .addUserMessage("Say hello in one short sentence.")
              .maxCompletionTokens(32)
              .build();
      // One virtual thread per call: a call that must wait for capacity parks, it holds nothing.
      try (ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
        List<Future<ChatCompletion>> answers = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
          answers.add(callers.submit(() -> openai.chat().completions().create(params)));
        }
        for (Future<ChatCompletion> answer : answers) {
          ChatCompletion completion = answer.get();
          System.out.println(completion.choices().getFirst().message().content().orElse(""));
        }
      }
    }
  }
}
