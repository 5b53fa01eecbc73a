package dev.penstock.cli.admin;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code penstock batches}: the Batch API's batches through the gateway's admin API — every
 * tenant's — list, show, cancel. Without a subcommand it is a usage error (exit 2).
 */
@Command(
    name = "batches",
    mixinStandardHelpOptions = true,
    description = {
      "Lists, shows and cancels the Batch API's batches of every tenant through the gateway's"
          + " admin API (see docs/batches.md).",
      "The gateway is at --url (default $PENSTOCK_URL, else http://127.0.0.1:8080); the admin key"
          + " is --admin-key or $PENSTOCK_ADMIN_KEY."
    },
    subcommands = {
      BatchesCommand.ListBatches.class,
      BatchesCommand.ShowBatch.class,
      BatchesCommand.CancelBatch.class
    })
public final class BatchesCommand {
  static final String BATCHES = "/admin/batches";

  /** The most batches one page may hold, as OpenAI's {@code limit}. */
  static final int MAX_LIMIT = 100;

  /** A batch's status, as {@code --status} takes it. */
  enum Status {
    VALIDATING,
    FAILED,
    IN_PROGRESS,
    FINALIZING,
    COMPLETED,
    EXPIRED,
    CANCELLING,
    CANCELLED;

    String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  static String path(String id) {
    return BATCHES + "/" + AdminClient.encode(id);
  }

  /** Prints the answer as received ({@code --json}), or the batch it describes. */
  static void print(AdminClient.Answer answer, boolean json, AdminOptions admin) {
    PrintWriter out = admin.out();
    if (json) {
      out.println(answer.body().strip());
      out.flush();
    } else {
      BatchPrinter.details(BatchRecord.of(answer.json()), out);
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      sortOptions = false,
      description =
          "Lists batches, newest first, with their owner, progress, rate and estimated time left.")
  static final class ListBatches implements Callable<Integer> {
    @Mixin private AdminOptions admin;

    @Option(
        names = "--status",
        paramLabel = "STATUS",
        description =
            "Only batches in this status: validating, in_progress, finalizing, completed, failed,"
                + " cancelling, cancelled or expired.")
    private @Nullable Status status;

    @Option(
        names = "--limit",
        paramLabel = "N",
        description = "At most N batches (1 to " + MAX_LIMIT + "). Default: the gateway's (20).")
    private @Nullable Integer limit;

    @Option(
        names = "--after",
        paramLabel = "ID",
        description = "The page after this batch (the id a previous list printed last).")
    private @Nullable String after;

    @Option(names = "--json", description = "Print the gateway's JSON answer as it is.")
    private boolean json;

    @Override
    public Integer call() {
      String pathAndQuery = pathAndQuery();
      AdminClient.Answer answer;
      try (AdminClient client = admin.client()) {
        answer = client.get(pathAndQuery);
      }
      PrintWriter out = admin.out();
      if (json) {
        out.println(answer.body().strip());
        out.flush();
        return 0;
      }
      List<BatchRecord> batches = new ArrayList<>();
      answer.json().path("data").forEach(batch -> batches.add(BatchRecord.of(batch)));
      if (batches.isEmpty()) {
        out.println(
            status == null ? "No batches." : "No batches with status " + status.wireName() + ".");
        out.flush();
        return 0;
      }
      BatchPrinter.table(batches, out);
      if (answer.json().path("has_more").asBoolean(false)) {
        out.printf(
            "%nMore batches: penstock batches list --after %s%s%n",
            batches.getLast().id(), status == null ? "" : " --status " + status.wireName());
        out.flush();
      }
      return 0;
    }

    /** {@code /admin/batches?status=…&limit=…&after=…}, leaving out what was not given. */
    private String pathAndQuery() {
      List<String> query = new ArrayList<>();
      if (status != null) {
        query.add("status=" + status.wireName());
      }
      if (limit != null) {
        if (limit < 1 || limit > MAX_LIMIT) {
          throw admin.usageError("--limit must be from 1 to " + MAX_LIMIT + ", not " + limit);
        }
        query.add("limit=" + limit);
      }
      if (after != null) {
        query.add("after=" + AdminClient.encode(after));
      }
      return query.isEmpty() ? BATCHES : BATCHES + "?" + String.join("&", query);
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      sortOptions = false,
      description =
          "Shows one batch: status, owner, counts, progress, usage, file ids, every timestamp and"
              + " the input file's errors.")
  static final class ShowBatch implements Callable<Integer> {
    @Mixin private AdminOptions admin;

    @Parameters(paramLabel = "ID", description = "The batch's id (batch_…).")
    private String id;

    @Option(names = "--json", description = "Print the gateway's JSON answer as it is.")
    private boolean json;

    @Override
    public Integer call() {
      try (AdminClient client = admin.client()) {
        print(client.get(path(id)), json, admin);
      }
      return 0;
    }
  }

  @Command(
      name = "cancel",
      mixinStandardHelpOptions = true,
      sortOptions = false,
      description =
          "Cancels a batch: no new line of it starts, the lines in flight finish, and the lines"
              + " never run go to its error file as batch_cancelled.")
  static final class CancelBatch implements Callable<Integer> {
    @Mixin private AdminOptions admin;

    @Parameters(paramLabel = "ID", description = "The batch's id (batch_…).")
    private String id;

    @Option(names = "--json", description = "Print the gateway's JSON answer as it is.")
    private boolean json;

    @Override
    public Integer call() {
      AdminClient.Answer answer;
      try (AdminClient client = admin.client()) {
        answer = client.post(path(id) + "/cancel", AdminClient.JSON.createObjectNode());
      }
      if (json) {
        print(answer, true, admin);
        return 0;
      }
      BatchRecord batch = BatchRecord.of(answer.json());
      PrintWriter out = admin.out();
      switch (batch.status()) {
        case "cancelling" ->
            out.printf(
                "Cancelling %s: no new line starts; the %s in flight finish, then it is"
                    + " cancelled.%n",
                batch.id(), lines(batch.claimed()));
        case "cancelled" ->
            out.printf(
                "Cancelled %s: %s completed, %s failed of %s.%n",
                batch.id(),
                Formats.count(batch.completed()),
                Formats.count(batch.failed()),
                Formats.count(batch.total()));
        default -> out.printf("%s is %s.%n", batch.id(), batch.status());
      }
      out.flush();
      return 0;
    }

    private static String lines(long n) {
      return n == 1 ? "1 line" : Formats.count(n) + " lines";
    }
  }
}
