package dev.penstock.server.queue;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.Recoverable;
import com.rabbitmq.client.RecoveryListener;
import dev.penstock.core.Admissions;
import dev.penstock.core.queue.Priority;
import dev.penstock.server.config.GatewayConfig;
import dev.penstock.server.openai.ApiError;
import dev.penstock.server.pipeline.BufferedExchange;
import dev.penstock.server.pipeline.ErrorResponses;
import dev.penstock.server.pipeline.InternalCaller;
import dev.penstock.server.pipeline.Pipeline;
import dev.penstock.server.tenant.Tenants;
import dev.penstock.server.tenant.VirtualKey;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The RabbitMQ ingress (SPEC 7, docs/queues.md): consumes OpenAI requests from the configured
 * queue, serves each through the {@link Pipeline} on its own virtual thread, publishes the answer
 * to the message's {@code reply_to}, and acknowledges the message only once the broker confirmed
 * that publication.
 *
 * <h2>Outcomes</h2>
 *
 * See {@link Disposition}: answered (reply, then ack), requeued (nack with requeue, after the wait
 * the refusal named, at most {@link #MAX_REQUEUE_DELAY_MILLIS}), dead-lettered (a copy with the
 * error in its headers published to the dead-letter exchange and confirmed, the error replied, then
 * ack). No message is acknowledged before what replaces it is confirmed; a crash at any point
 * leaves it unacknowledged, and the broker delivers it again (at least once: a message whose answer
 * was published but not yet acknowledged is answered twice).
 *
 * <h2>The window</h2>
 *
 * The broker sends at most {@code prefetch} unacknowledged messages (per-consumer {@code
 * basic.qos}). Within that bound the ingress takes only what the pool has spare capacity for: while
 * requests for a model it holds messages of wait in the scheduler's queue (its own or HTTP
 * clients'), it cancels its consumer, so the rest stay in the broker — in priority order, and
 * available to other consumers. When nothing waits any more it consumes again, with a prefetch of
 * what is left of the bound. A supervisor thread checks every {@link #WINDOW_PERIOD_NANOS} and
 * whenever a message arrives or ends.
 *
 * <h2>Connection</h2>
 *
 * The supervisor connects in the background and retries (backing off to 30 s) until the broker
 * answers: a broker that is down never stops the gateway. Once connected, the client's automatic
 * recovery reconnects and restores the consumer; messages held across a reconnection were requeued
 * by the broker, so their answers are not published (they would be duplicates) and they are not
 * acknowledged (their delivery tags are gone). Nothing logged carries the URL's password.
 *
 * <p>Threading: the client's dispatch thread only records a delivery and starts its virtual thread.
 * {@link #lock} guards the consumer (its tag and the consuming channel's qos); {@link #publishLock}
 * serializes publications with their confirms on the publishing channel; acks and nacks go straight
 * to the consuming channel (thread-safe for single frames).
 */
public final class RabbitIngress implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RabbitIngress.class);

  /** How often the supervisor reconsiders the window (and the connection). */
  static final long WINDOW_PERIOD_NANOS = 100_000_000L;

  /** The longest a refused message is held before it goes back to the queue. */
  static final long MAX_REQUEUE_DELAY_MILLIS = 5_000;

  /** How long a publication may wait for the broker's confirm. */
  private static final long CONFIRM_TIMEOUT_MILLIS = 10_000;

  private static final long MAX_BACKOFF_MILLIS = 30_000;

  private final GatewayConfig.Rabbit config;
  private final Pipeline pipeline;
  private final Tenants tenants;
  private final Admissions admissions;
  private final long closeGraceMillis;
  private final String broker;
  private final ConnectionFactory factory;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition idle = lock.newCondition();
  private final ReentrantLock publishLock = new ReentrantLock();

  /** The messages received and not yet settled. */
  private final Set<Held> held = ConcurrentHashMap.newKeySet();

  private final CountDownLatch closing = new CountDownLatch(1);
  private final LongAdder answered = new LongAdder();
  private final LongAdder deadLettered = new LongAdder();
  private final LongAdder requeued = new LongAdder();

  private volatile @Nullable Connection connection;
  private volatile @Nullable Channel consuming;
  private volatile @Nullable Channel publishing;

  /** Bumped at every (re)connection: a message of an older epoch was requeued by the broker. */
  private final java.util.concurrent.atomic.AtomicInteger epoch =
      new java.util.concurrent.atomic.AtomicInteger();

  /** The consumer's tag while consuming; guarded by {@link #lock}. */
  private @Nullable String consumerTag;

  private final Thread supervisor;

  private RabbitIngress(
      GatewayConfig.Rabbit config,
      Pipeline pipeline,
      Tenants tenants,
      Admissions admissions,
      long closeGraceMillis) {
    this.config = config;
    this.pipeline = pipeline;
    this.tenants = tenants;
    this.admissions = admissions;
    this.closeGraceMillis = closeGraceMillis;
    this.broker = describe(config.url().reveal());
    this.factory = new ConnectionFactory();
    this.supervisor =
        Thread.ofVirtual().name("penstock-rabbit-" + config.queue()).unstarted(this::supervise);
  }

  /**
   * Starts consuming {@code config.queue()} in the background; returns at once, connected or not.
   *
   * @param closeGraceMillis how long {@link #close} lets messages in flight finish
   * @throws IllegalArgumentException when the URL is not a usable AMQP URL (its text not quoted)
   */
  public static RabbitIngress start(
      GatewayConfig.Rabbit config,
      Pipeline pipeline,
      Tenants tenants,
      Admissions admissions,
      long closeGraceMillis) {
    RabbitIngress ingress =
        new RabbitIngress(config, pipeline, tenants, admissions, closeGraceMillis);
    ingress.configureFactory();
    ingress.supervisor.start();
    return ingress;
  }

  @SuppressWarnings("UnusedException") // its message may quote the URL, password and all
  private void configureFactory() {
    try {
      factory.setUri(config.url().reveal());
    } catch (Exception e) {
      throw new IllegalArgumentException("queues.rabbitmq.url is not a usable AMQP URL");
    }
    factory.setAutomaticRecoveryEnabled(true);
    factory.setTopologyRecoveryEnabled(true);
    factory.setNetworkRecoveryInterval(1_000);
    factory.setConnectionTimeout(5_000);
    factory.setRequestedHeartbeat(30);
  }

  /** Whether the ingress is connected and set up (it may be paused by its window). */
  public boolean connected() {
    Connection c = connection;
    Channel ch = consuming;
    return c != null && c.isOpen() && ch != null && ch.isOpen();
  }

  /** Whether the consumer is registered now (false while the window is closed, or unconnected). */
  public boolean consuming() {
    lock.lock();
    try {
      return consumerTag != null;
    } finally {
      lock.unlock();
    }
  }

  /** The queue consumed. */
  public String queue() {
    return config.queue();
  }

  /** Messages received and not yet settled. */
  public int inFlight() {
    return held.size();
  }

  /**
   * How many messages ended with {@code outcome}: {@code answered}, {@code dead_lettered} or {@code
   * requeued}.
   */
  public long messages(String outcome) {
    return switch (outcome) {
      case "answered" -> answered.sum();
      case "dead_lettered" -> deadLettered.sum();
      case "requeued" -> requeued.sum();
      default -> throw new IllegalArgumentException("unknown outcome " + outcome);
    };
  }

  // ---- the supervisor: connection and window

  private void supervise() {
    long backoffMillis = 500;
    boolean warned = false;
    while (closing.getCount() > 0) {
      try {
        ensureConnected();
        if (warned) {
          LOG.info("rabbitmq {}: connected; consuming {}", broker, config.queue());
          warned = false;
        }
        backoffMillis = 500;
        adjustWindow();
        LockSupport.parkNanos(WINDOW_PERIOD_NANOS);
      } catch (IOException | TimeoutException | RuntimeException e) {
        if (closing.getCount() == 0) {
          break;
        }
        if (!warned) {
          LOG.warn(
              "rabbitmq {}: cannot consume {} ({}); retrying in the background, HTTP is served"
                  + " meanwhile",
              broker,
              config.queue(),
              reason(e));
          warned = true;
        } else {
          LOG.debug("rabbitmq {}: still cannot consume: {}", broker, reason(e));
        }
        awaitClosing(backoffMillis);
        backoffMillis = Math.min(MAX_BACKOFF_MILLIS, backoffMillis * 2);
      }
    }
  }

  /**
   * Connects and sets up when there is no connection; reopens the channels when the broker closed
   * one. A connection that is down and recovering is left to the client's recovery.
   */
  private void ensureConnected() throws IOException, TimeoutException {
    Connection c = connection;
    if (c == null) {
      c = factory.newConnection("penstock " + config.queue());
      connection = c;
      if (c instanceof Recoverable r) {
        r.addRecoveryListener(
            new RecoveryListener() {
              @Override
              public void handleRecovery(Recoverable recoverable) {
                LOG.info("rabbitmq {}: reconnected", broker);
              }

              @Override
              public void handleRecoveryStarted(Recoverable recoverable) {
                epoch.incrementAndGet(); // what is held now was requeued by the broker
                LOG.warn("rabbitmq {}: connection lost; reconnecting", broker);
              }
            });
      }
    }
    if (!c.isOpen()) {
      return; // the client's automatic recovery is at work
    }
    Channel ch = consuming;
    Channel pub = publishing;
    if (ch == null || !ch.isOpen() || pub == null || !pub.isOpen()) {
      setUp(c);
    }
  }

  private void setUp(Connection c) throws IOException {
    lock.lock();
    try {
      epoch.incrementAndGet();
      consumerTag = null;
      closeQuietly(consuming);
      closeQuietly(publishing);
      Channel ch = declare(c);
      Channel pub = c.createChannel();
      pub.confirmSelect();
      publishing = pub;
      consuming = ch;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Declares the queue (durable, {@code x-max-priority}, {@code x-dead-letter-exchange}), the
   * dead-letter exchange (fanout, durable) and the dead-letter queue {@code <queue>.dead} bound to
   * it; all idempotent. A queue that exists with other arguments is consumed as it is, with a
   * warning. Returns an open channel.
   */
  private Channel declare(Connection c) throws IOException {
    Channel ch = c.createChannel();
    String dlx = config.deadLetterExchange();
    String dead = config.queue() + ".dead";
    try {
      ch.exchangeDeclare(dlx, BuiltinExchangeType.FANOUT, true);
      ch.queueDeclare(dead, true, false, false, null);
      ch.queueBind(dead, dlx, config.queue());
      Map<String, Object> args = new HashMap<>();
      args.put("x-max-priority", config.maxPriority());
      args.put("x-dead-letter-exchange", dlx);
      ch.queueDeclare(config.queue(), true, false, false, args);
      return ch;
    } catch (IOException e) {
      // The broker closed the channel (406: declared before with other arguments or type).
      LOG.warn(
          "rabbitmq {}: could not declare {} and its dead-letter exchange {} ({}); consuming the"
              + " queue as it is",
          broker,
          config.queue(),
          dlx,
          reason(e));
      closeQuietly(ch);
      return c.createChannel();
    }
  }

  /** Opens or closes the window; see the class comment. */
  private void adjustWindow() throws IOException {
    lock.lock();
    try {
      Channel ch = consuming;
      if (ch == null || !ch.isOpen() || closing.getCount() == 0) {
        return;
      }
      int holding = held.size();
      boolean saturated = holding > 0 && waitingForHeldModels();
      if (consumerTag != null && saturated) {
        String tag = consumerTag;
        consumerTag = null;
        ch.basicCancel(tag);
        LOG.debug("rabbitmq {}: window closed with {} held", config.queue(), holding);
      } else if (consumerTag == null && !saturated && holding < config.prefetch()) {
        ch.basicQos(config.prefetch() - holding);
        consumerTag = ch.basicConsume(config.queue(), false, new Consumer(ch));
      }
    } finally {
      lock.unlock();
    }
  }

  /** Whether requests for a model of a held message wait in the scheduler's queue. */
  private boolean waitingForHeldModels() {
    Set<String> models = new java.util.HashSet<>();
    for (Held h : held) {
      String m = h.model;
      if (m != null) {
        models.add(m);
      }
    }
    if (models.isEmpty()) {
      return false;
    }
    return admissions.inspect(
        s -> {
          for (String m : models) {
            for (Priority p : Priority.values()) {
              if (s.queued(m, p) > 0) {
                return true;
              }
            }
          }
          return false;
        });
  }

  private void wake() {
    LockSupport.unpark(supervisor);
  }

  /** One message received and not yet settled. */
  private static final class Held {
    final Channel channel;
    final long deliveryTag;
    final int epoch;
    final AtomicBoolean settled = new AtomicBoolean();
    volatile @Nullable String model;

    Held(Channel channel, long deliveryTag, int epoch) {
      this.channel = channel;
      this.deliveryTag = deliveryTag;
      this.epoch = epoch;
    }

    /** Takes the right to settle it; false when someone else (close, a reconnection) did. */
    boolean claim() {
      return settled.compareAndSet(false, true);
    }
  }

  private final class Consumer extends DefaultConsumer {
    Consumer(Channel channel) {
      super(channel);
    }

    @Override
    public void handleDelivery(
        String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
      Held h = new Held(getChannel(), envelope.getDeliveryTag(), epoch.get());
      held.add(h);
      if (closing.getCount() == 0) {
        requeueNow(h);
        release(h);
        return;
      }
      Thread.ofVirtual().name("penstock-rabbit-message").start(() -> serve(h, props, body));
      wake();
    }

    @Override
    public void handleCancel(String tag) {
      lock.lock();
      try {
        if (tag.equals(consumerTag)) {
          consumerTag = null;
        }
      } finally {
        lock.unlock();
      }
      LOG.warn("rabbitmq {}: the broker cancelled the consumer of {}", broker, config.queue());
      wake();
    }
  }

  // ---- one message

  private void serve(Held h, AMQP.BasicProperties props, byte[] body) {
    String requestId = Pipeline.newRequestId();
    try {
      QueuedRequest request =
          QueuedRequest.read(props, body, config.maxPriority(), config.timeoutMillis());
      h.model = request.model();
      String replyTo = props.getReplyTo();
      if (replyTo == null || replyTo.isBlank()) {
        throw ApiError.invalid(
            "The message has no reply_to: there is nowhere to send its answer.",
            "reply_to",
            "missing_reply_to");
      }
      InternalCaller caller = caller(request);
      BufferedExchange exchange = new BufferedExchange(body, request.headers());
      pipeline.handle(request.endpoint(), exchange, requestId, caller);
      switch (Disposition.of(exchange)) {
        case ANSWER -> answer(h, props, exchange);
        case REQUEUE -> requeueLater(h, retryAfterMillis(exchange));
        case DEAD_LETTER ->
            deadLetter(
                h,
                props,
                body,
                exchange.status(),
                Disposition.errorField(exchange, "type"),
                Disposition.errorCode(exchange),
                Disposition.errorField(exchange, "message"),
                exchange.answerBody(),
                exchange.headers());
      }
    } catch (ApiError e) {
      Map<String, String> headers = Map.of("x-request-id", requestId);
      deadLetter(
          h,
          props,
          body,
          e.status(),
          e.type(),
          e.code(),
          e.getMessage(),
          ErrorResponses.body(e),
          headers);
    } catch (RuntimeException e) {
      LOG.warn(
          "rabbitmq {}: message {} failed unexpectedly; requeued", config.queue(), requestId, e);
      requeueNow(h);
    } finally {
      release(h);
    }
  }

  /**
   * The caller: the message's virtual key once keys exist ({@code 401} when it has none that is
   * live), its priority lowered to the key's ceiling; a tenant of its own in open mode.
   */
  private InternalCaller caller(QueuedRequest request) {
    Priority priority = request.priority();
    if (!tenants.authRequired()) {
      return new InternalCaller(
          null, "rabbitmq:" + config.queue(), priority, request.timeoutMillis());
    }
    VirtualKey key =
        tenants.keys().authenticate(request.presentedKey()).orElseThrow(Tenants::invalidKey);
    Priority ceiling = Priority.parse(key.maxPriority());
    if (priority.compareTo(ceiling) < 0) {
      priority = ceiling;
    }
    return new InternalCaller(key.id(), key.id(), priority, request.timeoutMillis());
  }

  private void answer(Held h, AMQP.BasicProperties props, BufferedExchange exchange) {
    if (!h.claim() || h.epoch != epoch.get()) {
      return; // requeued meanwhile (close, reconnection): the broker delivers it again
    }
    AMQP.BasicProperties reply =
        replyProperties(props, exchange.status(), exchange.headers(), null);
    if (publish("", String.valueOf(props.getReplyTo()), reply, exchange.answerBody())) {
      settle(h, Disposition.ANSWER);
    } else {
      nack(h);
    }
  }

  /**
   * Dead-letters a message: a copy with the error in its headers goes to the dead-letter exchange;
   * once the broker confirmed it, the error is replied (when there is a {@code reply_to}) and the
   * message acknowledged. A copy the broker did not confirm leaves the message in the queue.
   */
  private void deadLetter(
      Held h,
      AMQP.BasicProperties props,
      byte[] body,
      int status,
      @Nullable String type,
      @Nullable String code,
      @Nullable String message,
      byte[] errorBody,
      Map<String, String> answerHeaders) {
    if (!h.claim() || h.epoch != epoch.get()) {
      return;
    }
    Map<String, Object> headers = new HashMap<>();
    Map<String, Object> original = props.getHeaders();
    if (original != null) {
      headers.putAll(original);
    }
    headers.put("x-penstock-status-code", status);
    headers.put("x-penstock-error-type", type == null ? "" : type);
    headers.put("x-penstock-error-code", code == null ? "" : code);
    headers.put("x-penstock-error-message", message == null ? "" : message);
    headers.put("x-penstock-request-id", answerHeaders.getOrDefault("x-request-id", ""));
    headers.put("x-penstock-queue", config.queue());
    AMQP.BasicProperties copy =
        props.builder().headers(headers).userId(null).deliveryMode(2).build();
    if (!publish(config.deadLetterExchange(), config.queue(), copy, body)) {
      nack(h);
      return;
    }
    String replyTo = props.getReplyTo();
    if (replyTo != null && !replyTo.isBlank()) {
      AMQP.BasicProperties reply = replyProperties(props, status, answerHeaders, code);
      if (!publish("", replyTo, reply, errorBody)) {
        LOG.warn(
            "rabbitmq {}: the error reply to a dead-lettered message was not confirmed",
            config.queue());
      }
    }
    LOG.debug("rabbitmq {}: dead-lettered ({} {})", config.queue(), status, code);
    settle(h, Disposition.DEAD_LETTER);
  }

  private static AMQP.BasicProperties replyProperties(
      AMQP.BasicProperties request,
      int status,
      Map<String, String> answerHeaders,
      @Nullable String errorCode) {
    Map<String, Object> headers = new HashMap<>();
    headers.put("x-status-code", status);
    answerHeaders.forEach(
        (k, v) -> {
          String name = k.toLowerCase(Locale.ROOT);
          if (!HOP_HEADERS.contains(name)) {
            headers.put(name, v);
          }
        });
    if (errorCode != null) {
      headers.put("x-penstock-error-code", errorCode);
    }
    return new AMQP.BasicProperties.Builder()
        .correlationId(request.getCorrelationId())
        .contentType("application/json")
        .contentEncoding("utf-8")
        .type(request.getType())
        .deliveryMode(2)
        .headers(headers)
        .build();
  }

  private static final Set<String> HOP_HEADERS =
      Set.of("content-type", "content-length", "transfer-encoding", "connection", "keep-alive");

  /** Publishes and waits for the broker's confirm; false when it did not confirm. */
  private boolean publish(
      String exchange, String routingKey, AMQP.BasicProperties props, byte[] body) {
    publishLock.lock();
    try {
      Channel pub = publishing;
      if (pub == null || !pub.isOpen()) {
        return false;
      }
      pub.basicPublish(exchange, routingKey, props, body);
      return pub.waitForConfirms(CONFIRM_TIMEOUT_MILLIS);
    } catch (IOException | TimeoutException | RuntimeException e) {
      LOG.warn("rabbitmq {}: a publication was not confirmed: {}", config.queue(), reason(e));
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      publishLock.unlock();
    }
  }

  /**
   * Holds a refused message for the wait its refusal named (not beyond close), then requeues it.
   */
  private void requeueLater(Held h, long delayMillis) {
    awaitClosing(Math.min(MAX_REQUEUE_DELAY_MILLIS, Math.max(0, delayMillis)));
    requeueNow(h);
  }

  private void requeueNow(Held h) {
    if (h.claim() && h.epoch == epoch.get()) {
      nack(h);
    }
  }

  private void nack(Held h) {
    try {
      h.channel.basicNack(h.deliveryTag, false, true);
      requeued.increment();
    } catch (IOException | RuntimeException e) {
      // The channel is gone: the broker requeued it with the channel.
      LOG.debug("rabbitmq {}: nack failed: {}", config.queue(), reason(e));
    }
  }

  private void settle(Held h, Disposition disposition) {
    try {
      h.channel.basicAck(h.deliveryTag, false);
      (disposition == Disposition.ANSWER ? answered : deadLettered).increment();
    } catch (IOException | RuntimeException e) {
      // Published but not acknowledged: the broker delivers it again (at least once).
      LOG.warn(
          "rabbitmq {}: ack failed after publishing ({}); the message will be delivered again",
          config.queue(),
          reason(e));
    }
  }

  private void release(Held h) {
    held.remove(h);
    lock.lock();
    try {
      if (held.isEmpty()) {
        idle.signalAll();
      }
    } finally {
      lock.unlock();
    }
    wake();
  }

  private static long retryAfterMillis(BufferedExchange exchange) {
    String ms = exchange.answerHeader("retry-after-ms");
    if (ms != null) {
      try {
        return Long.parseLong(ms.trim());
      } catch (NumberFormatException e) {
        // fall through
      }
    }
    return 1_000;
  }

  // ---- lifecycle

  /**
   * Stops: cancels the consumer, lets the messages in flight finish for up to the grace period,
   * requeues (nack) those still running, and closes the connection. Their pipeline requests carry
   * on until the gateway stops them; nothing they answer is published.
   */
  @Override
  public void close() {
    closing.countDown();
    lock.lock();
    try {
      Channel ch = consuming;
      if (consumerTag != null && ch != null && ch.isOpen()) {
        try {
          ch.basicCancel(consumerTag);
        } catch (IOException | RuntimeException e) {
          LOG.debug("rabbitmq {}: cancel failed: {}", config.queue(), reason(e));
        }
      }
      consumerTag = null;
      long remaining = TimeUnit.MILLISECONDS.toNanos(closeGraceMillis);
      while (!held.isEmpty() && remaining > 0) {
        remaining = idle.awaitNanos(remaining);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      lock.unlock();
    }
    List<Held> left = new ArrayList<>(held);
    if (!left.isEmpty()) {
      LOG.info("rabbitmq {}: requeueing {} messages still in flight", config.queue(), left.size());
    }
    left.forEach(this::requeueNow);
    Connection c = connection;
    if (c != null) {
      try {
        c.close(5_000);
      } catch (IOException | RuntimeException e) {
        LOG.debug("rabbitmq {}: close failed: {}", config.queue(), reason(e));
      }
    }
    wake();
    try {
      if (!supervisor.join(java.time.Duration.ofSeconds(10))) {
        LOG.warn("rabbitmq {}: the supervisor did not stop", config.queue());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Drops the connection without settling anything, as a crash (or {@code kill -9}) does: the
   * broker requeues every unacknowledged message. Messages in flight publish nothing more. For
   * tests of the at-least-once guarantee.
   */
  void crash() {
    closing.countDown();
    for (Held h : held) {
      h.settled.set(true);
    }
    Connection c = connection;
    if (c != null) {
      c.abort(1_000);
    }
    wake();
  }

  private void awaitClosing(long millis) {
    try {
      if (closing.await(millis, TimeUnit.MILLISECONDS)) {
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void closeQuietly(@Nullable Channel ch) {
    if (ch != null && ch.isOpen()) {
      try {
        ch.close();
      } catch (IOException | TimeoutException | RuntimeException e) {
        // closing anyway
      }
    }
  }

  /** An exception's short description, which never quotes the URL. */
  private static String reason(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getMessage() == null) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
  }

  /** {@code host:port/vhost} of an AMQP URL, without its user and password. */
  static String describe(String url) {
    try {
      URI uri = URI.create(url);
      int port = uri.getPort() > 0 ? uri.getPort() : "amqps".equals(uri.getScheme()) ? 5671 : 5672;
      String path = uri.getPath() == null || uri.getPath().isEmpty() ? "/" : uri.getPath();
      return uri.getHost() + ":" + port + path;
    } catch (RuntimeException e) {
      return "(the configured broker)";
    }
  }
}
