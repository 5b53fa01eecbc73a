package dev.penstock.cli;

import dev.penstock.cli.bench.BenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code bin/penstock}. */
@Command(
    name = "penstock",
    mixinStandardHelpOptions = true,
    version = "penstock 0.1.0",
    subcommands = {BenchCommand.class},
    description = "OpenAI-compatible LLM gateway that paces every key under its RPM/TPM limits.")
public final class Main {
  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }
}
