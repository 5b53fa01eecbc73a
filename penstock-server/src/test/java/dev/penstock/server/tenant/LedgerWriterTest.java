package dev.penstock.server.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.penstock.server.tenant.LedgerRepository.GroupBy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class LedgerWriterTest {
  /** Long enough that only a full group or a flush ends one within a test. */
  private static final Duration NEVER = Duration.ofHours(1);

  /** A bound for awaiting what must happen promptly; reaching it fails the test. */
  private static final long AWAIT_SECONDS = 30;

  /** The writer's log lines, kept here instead of printed: some tests fail the store on purpose. */
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  private final Logger logger = (Logger) LoggerFactory.getLogger(LedgerWriter.class);

  @BeforeEach
  void captureLogs() {
    logs.start();
    logger.addAppender(logs);
    logger.setAdditive(false);
  }

  @AfterEach
  void releaseLogs() {
    logger.detachAppender(logs);
    logger.setAdditive(true);
  }

  /** The captured lines as "LEVEL message"; read after a flush or close ordered them before. */
  private List<String> logLines() {
    synchronized (logs) { // AppenderBase.doAppend holds the appender's monitor
      return logs.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
    }
  }

  /**
   * Keeps every appended group; can fail the next appends, or hold them until released. Each append
   * releases one permit of {@link #appended}, so tests await groups without sleeping.
   */
  private static final class RecordingLedger implements LedgerRepository {
    final List<List<String>> groups = new CopyOnWriteArrayList<>();
    final List<String> threads = new CopyOnWriteArrayList<>();
    final Semaphore appended = new Semaphore(0);
    // Only the writer thread appends; the test reads these after a flush or close.
    final AtomicInteger failuresLeft = new AtomicInteger();
    final AtomicInteger attempts = new AtomicInteger();
    volatile CountDownLatch gate = new CountDownLatch(0);

    @Override
    public void append(List<LedgerEntry> entries) {
      attempts.incrementAndGet();
      Thread thread = Thread.currentThread();
      threads.add(thread.getName() + (thread.isDaemon() ? " (daemon)" : ""));
      awaitQuietly(gate);
      if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new StorageException("disk full");
      }
      groups.add(entries.stream().map(LedgerEntry::requestId).toList());
      appended.release();
    }

    void awaitGroups(int count) throws InterruptedException {
      assertThat(appended.tryAcquire(count, AWAIT_SECONDS, TimeUnit.SECONDS))
          .as("%d groups appended", count)
          .isTrue();
    }

    @Override
    public List<UsageRow> report(long fromMillis, long toMillis, GroupBy groupBy) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Map<String, Double> spendByKey(long fromMillis) {
      throw new UnsupportedOperationException();
    }
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      assertThat(latch.await(AWAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static List<String> ids(int from, int to) {
    return IntStream.range(from, to).mapToObj(n -> "req-" + n).toList();
  }

  private static void record(LedgerWriter writer, int from, int to) {
    for (int n = from; n < to; n++) {
      writer.record(Ledgers.numbered(n));
    }
  }

  @Test
  void aGroupEndsWhenFullAndHoldsNoMoreThanTheMaximum() throws InterruptedException {
    RecordingLedger ledger = new RecordingLedger();
    try (LedgerWriter writer = new LedgerWriter(ledger, 3, NEVER)) {
      record(writer, 0, 7);
      ledger.awaitGroups(2);
      assertThat(ledger.groups).containsExactly(ids(0, 3), ids(3, 6));
      writer.flush();
      assertThat(ledger.groups).containsExactly(ids(0, 3), ids(3, 6), ids(6, 7));
      assertThat(writer.rowsWritten()).isEqualTo(7);
      assertThat(writer.groupsWritten()).isEqualTo(3);
      assertThat(writer.rowsPending()).isZero();
    }
  }

  @Test
  void aGroupEndsWhenItsFirstEntryHasWaitedTheMaximumDelay() throws InterruptedException {
    RecordingLedger ledger = new RecordingLedger();
    try (LedgerWriter writer = new LedgerWriter(ledger, 500, Duration.ofMillis(1))) {
      record(writer, 0, 1);
      ledger.awaitGroups(1); // no flush, no full group: only the delay ends it
      assertThat(ledger.groups).containsExactly(ids(0, 1));
    }
  }

  @Test
  void oneDaemonThreadNamedPenstockLedgerAppends() throws InterruptedException {
    RecordingLedger ledger = new RecordingLedger();
    try (LedgerWriter writer = new LedgerWriter(ledger, 2, NEVER)) {
      record(writer, 0, 6);
      ledger.awaitGroups(3);
    }
    assertThat(ledger.threads).containsOnly("penstock-ledger (daemon)").hasSize(3);
  }

  @Test
  void flushReturnsWhenEverythingRecordedBeforeIsCommitted() {
    RecordingLedger ledger = new RecordingLedger();
    try (LedgerWriter writer = new LedgerWriter(ledger, 500, NEVER)) {
      writer.flush(); // nothing recorded: returns at once, appends nothing
      assertThat(ledger.groups).isEmpty();
      record(writer, 0, 5);
      writer.flush();
      assertThat(ledger.groups).containsExactly(ids(0, 5));
      record(writer, 5, 6);
      writer.flush();
      assertThat(ledger.groups).containsExactly(ids(0, 5), ids(5, 6));
    }
  }

  @Test
  void aFlushWithATimeoutSaysWhetherItCompleted() throws InterruptedException {
    RecordingLedger ledger = new RecordingLedger();
    ledger.gate = new CountDownLatch(1);
    try (LedgerWriter writer = new LedgerWriter(ledger, 500, NEVER)) {
      record(writer, 0, 2);
      assertThat(writer.flush(Duration.ZERO)).isFalse(); // the append is held at the gate
      ledger.gate.countDown();
      assertThat(writer.flush(Duration.ofSeconds(AWAIT_SECONDS))).isTrue();
      assertThat(ledger.groups).containsExactly(ids(0, 2));
    }
  }

  @Test
  void closeCommitsEverythingRecordedAndThenRefusesEntries() {
    RecordingLedger ledger = new RecordingLedger();
    LedgerWriter writer = new LedgerWriter(ledger, 100, NEVER);
    record(writer, 0, 1_050);
    writer.close();
    List<String> written = ledger.groups.stream().flatMap(List::stream).toList();
    assertThat(written).isEqualTo(ids(0, 1_050));
    assertThat(ledger.groups).allSatisfy(group -> assertThat(group).hasSizeLessThanOrEqualTo(100));
    assertThat(writer.rowsWritten()).isEqualTo(1_050);
    assertThat(writer.groupsWritten()).isEqualTo(ledger.groups.size());
    assertThatThrownBy(() -> writer.record(Ledgers.numbered(2_000)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("the ledger writer is closed; entry req-2000");
    writer.flush(); // returns at once
    writer.close(); // and again
  }

  @Test
  void aFailingAppendIsRetriedWithGrowingBackOffAndNothingIsLost() {
    RecordingLedger ledger = new RecordingLedger();
    ledger.failuresLeft.set(7);
    List<Duration> waits = new CopyOnWriteArrayList<>();
    try (LedgerWriter writer =
        new LedgerWriter(ledger, 500, NEVER, 1_000, waits::add, Duration.ofSeconds(10))) {
      record(writer, 0, 3);
      writer.flush();
      assertThat(ledger.groups).containsExactly(ids(0, 3));
      assertThat(ledger.attempts.get()).isEqualTo(8);
      assertThat(waits)
          .containsExactly(
              Duration.ofMillis(100),
              Duration.ofMillis(200),
              Duration.ofMillis(400),
              Duration.ofMillis(800),
              Duration.ofMillis(1_600),
              Duration.ofMillis(3_200),
              Duration.ofMillis(5_000));
      assertThat(writer.rowsWritten()).isEqualTo(3);
      assertThat(writer.groupsWritten()).isEqualTo(1);
      assertThat(logLines())
          .containsExactly(
              "ERROR ledger: writing 3 entries failed; retrying every 100-5000 ms until it works",
              "ERROR ledger: writing 3 entries failed again (attempt 2): disk full",
              "ERROR ledger: writing 3 entries failed again (attempt 3): disk full",
              "ERROR ledger: writing 3 entries failed again (attempt 4): disk full",
              "ERROR ledger: writing 3 entries failed again (attempt 5): disk full",
              "ERROR ledger: writing 3 entries failed again (attempt 6): disk full",
              "ERROR ledger: writing 3 entries failed again (attempt 7): disk full",
              "INFO ledger: 3 entries written at attempt 8");
      assertThat(logs.list.getFirst().getThrowableProxy().getMessage()).isEqualTo("disk full");
    }
  }

  @Test
  void aFullQueueBlocksTheRecorderInsteadOfDropping() throws InterruptedException {
    RecordingLedger ledger = new RecordingLedger();
    ledger.gate = new CountDownLatch(1);
    try (LedgerWriter writer =
        new LedgerWriter(ledger, 1, NEVER, 2, d -> {}, Duration.ofSeconds(10))) {
      CountDownLatch recordedAll = new CountDownLatch(1);
      // One entry held in the writer's append, two in the queue: the fourth must wait for room.
      Thread recorder =
          Thread.ofPlatform()
              .start(
                  () -> {
                    record(writer, 0, 10);
                    recordedAll.countDown();
                  });
      while (recorder.getState() != Thread.State.WAITING) {
        assertThat(recorder.isAlive()).as("the recorder is still blocked").isTrue();
        Thread.onSpinWait();
      }
      assertThat(recordedAll.getCount()).isOne();
      ledger.gate.countDown();
      assertThat(recordedAll.await(AWAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
      writer.flush();
      assertThat(ledger.groups.stream().flatMap(List::stream).toList()).isEqualTo(ids(0, 10));
    }
  }

  @Test
  void closeGivesUpOnAStoreThatKeepsFailingAndSaysSo() throws InterruptedException {
    RecordingLedger ledger = new RecordingLedger();
    ledger.failuresLeft.set(Integer.MAX_VALUE);
    CountDownLatch backingOff = new CountDownLatch(1);
    AtomicReference<Thread> writerThread = new AtomicReference<>();
    CountDownLatch forever = new CountDownLatch(1);
    LedgerWriter writer =
        new LedgerWriter(
            ledger,
            500,
            Duration.ZERO,
            1_000,
            d -> { // a back-off longer than the close timeout, which only an interrupt ends
              writerThread.set(Thread.currentThread());
              backingOff.countDown();
              forever.await();
            },
            Duration.ofMillis(1));
    record(writer, 0, 3);
    assertThat(backingOff.await(AWAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
    writer.close();
    writerThread.get().join(Duration.ofSeconds(AWAIT_SECONDS));
    assertThat(writerThread.get().isAlive()).as("the writer thread is stopped").isFalse();
    assertThat(writer.rowsWritten()).isZero();
    assertThat(writer.rowsPending()).isEqualTo(3);
    assertThat(ledger.groups).isEmpty();
    // The writer may take the first entry alone before the other two are queued (a group window
    // of zero): how many the failed write held is the race's, what is lost at shutdown is not.
    assertThat(logLines()).hasSize(2);
    assertThat(logLines().get(0))
        .matches(
            "ERROR ledger: writing [123] entries failed; retrying every 100-5000 ms until it works");
    assertThat(logLines().get(1))
        .isEqualTo(
            "ERROR ledger: 3 entries could not be written within 1 ms of shutdown and are lost");
    writer.flush(); // returns at once
  }

  @Test
  void entriesRecordedThroughTheWriterReachTheReports(@TempDir Path dir) {
    try (SqliteStorage storage = SqliteStorage.open(dir.resolve("penstock.db"));
        LedgerWriter writer = new LedgerWriter(storage.ledger())) {
      List<LedgerEntry> entries = Ledgers.random(9, 5_000, Ledgers.MARCH_1, 2);
      entries.forEach(writer::record);
      writer.flush();
      assertThat(storage.ledger().report(Long.MIN_VALUE, Long.MAX_VALUE, GroupBy.MODEL))
          .isEqualTo(
              SqlLedgerRepositoryTest.bruteForce(
                  entries, Long.MIN_VALUE, Long.MAX_VALUE, GroupBy.MODEL));
      assertThat(writer.rowsWritten()).isEqualTo(5_000);
      assertThat(writer.groupsWritten()).isBetween(10L, 5_000L);
    }
  }
}
