package dev.penstock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The batching appender in a Logback context of its own, over an output that counts flushes. */
class BatchingAsyncAppenderTest {
  private final LoggerContext context = new LoggerContext();
  private final Output output = new Output();
  private final BatchingAsyncAppender async = new BatchingAsyncAppender();

  /** What reached the output, and how often it was flushed; its first write may be held back. */
  private static final class Output extends OutputStream {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final AtomicInteger flushes = new AtomicInteger();
    volatile CountDownLatch hold = new CountDownLatch(0);
    final CountDownLatch writing = new CountDownLatch(1);

    @Override
    public synchronized void write(int b) {
      bytes.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      writing.countDown();
      try {
        hold.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      synchronized (this) {
        bytes.write(b, off, len);
      }
    }

    @Override
    public void flush() {
      flushes.incrementAndGet();
    }

    synchronized List<String> lines() {
      String text = bytes.toString(StandardCharsets.UTF_8);
      return text.isEmpty() ? List.of() : List.of(text.split("\n"));
    }
  }

  private Logger start(int queueSize) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%msg%n");
    encoder.start();
    OutputStreamAppender<ILoggingEvent> out = new OutputStreamAppender<>();
    out.setContext(context);
    out.setEncoder(encoder);
    out.setImmediateFlush(false);
    out.setOutputStream(output);
    out.start();
    async.setContext(context);
    async.setQueueSize(queueSize);
    async.addAppender(out);
    async.start();
    context.setMDCAdapter(new LogbackMDCAdapter());
    context.start();
    Logger logger = context.getLogger("test");
    logger.setAdditive(false);
    logger.addAppender(async);
    return logger;
  }

  @AfterEach
  void stop() {
    output.hold = new CountDownLatch(0);
    context.stop();
  }

  @Test
  void linesWaitingTogetherLeaveAsOneBatchWithOneFlush() throws Exception {
    output.hold = new CountDownLatch(1);
    Logger log = start(1000);
    log.info("first");
    assertThat(output.writing.await(10, TimeUnit.SECONDS))
        .as("the first line is being written")
        .isTrue();
    IntStream.range(0, 500).forEach(i -> log.info("line {}", i)); // queued behind the held write
    output.hold.countDown();
    async.stop();

    assertThat(output.lines()).hasSize(501).startsWith("first", "line 0").endsWith("line 499");
    assertThat(output.flushes.get())
        .as("one flush for the first line, about one for the 500 that waited")
        .isLessThanOrEqualTo(4);
  }

  @Test
  void aLoneLineIsWrittenWithoutWaitingForMore() throws Exception {
    Logger log = start(16);
    log.info("alone");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (output.flushes.get() == 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(output.lines()).containsExactly("alone");
    assertThat(output.flushes.get()).isEqualTo(1);
  }

  @Test
  void aFullQueueMakesLoggersWaitAndLosesNothing() throws Exception {
    Logger log = start(1);
    Thread[] threads = new Thread[4];
    for (int t = 0; t < threads.length; t++) {
      int id = t;
      threads[t] =
          Thread.ofVirtual()
              .start(() -> IntStream.range(0, 2_000).forEach(i -> log.info("{}-{}", id, i)));
    }
    for (Thread t : threads) {
      assertThat(t.join(java.time.Duration.ofSeconds(30))).isTrue();
    }
    async.stop();

    List<String> lines = output.lines();
    assertThat(lines).hasSize(8_000).doesNotHaveDuplicates();
    for (int t = 0; t < threads.length; t++) {
      String prefix = t + "-";
      List<String> own = lines.stream().filter(l -> l.startsWith(prefix)).toList();
      assertThat(own)
          .as("thread %d's lines in its order", t)
          .containsExactlyElementsOf(IntStream.range(0, 2_000).mapToObj(i -> prefix + i).toList());
    }
  }
}
