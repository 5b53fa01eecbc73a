package dev.penstock.server.http;

import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.NioSocket;
import io.helidon.common.socket.PlainSocket;
import io.helidon.webserver.ConnectionContext;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.lang.reflect.Field;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells, without blocking and without consuming a byte, whether a client closed its connection
 * while its request is being served — the check nginx makes for the same purpose ({@code recv(fd,
 * buf, 1, MSG_PEEK)} returning 0). Nothing reads a client's socket while its handler runs, so a
 * client that gives up while its request waits in the queue would otherwise go unnoticed until the
 * answer is written — after its quota was spent.
 *
 * <h2>How</h2>
 *
 * <p>Helidon owns the connection and offers no "closed" signal, so this reaches below it: the
 * connection's {@link SocketChannel} (a private field of Helidon's socket wrapper), its file
 * descriptor (through the JDK's {@code sun.nio.ch.SelChImpl}, which the launcher exports with
 * {@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED}), and {@code recv} with {@code MSG_PEEK |
 * MSG_DONTWAIT} through the Foreign Function API ({@code --enable-native-access=ALL-UNNAMED}). A
 * result of 0 is the client's FIN; {@code ECONNRESET} its reset; {@code EAGAIN} a client still
 * there with nothing to say; a byte, a client sending more (still there).
 *
 * <p>Linux only (the flag values are Linux's). Wherever a step is unavailable — another OS, a
 * missing JVM flag, a Helidon that changed its internals — {@link #available} is false, the reason
 * is logged once at start, and clients that leave are noticed when their answer is written, as
 * before. Thread-safe.
 */
final class ClientSockets {
  private static final Logger LOG = LoggerFactory.getLogger(ClientSockets.class);
  private static final int MSG_PEEK = 0x2;
  private static final int MSG_DONTWAIT = 0x40;
  private static final int EAGAIN = 11;
  private static final int EINTR = 4;

  private static final @Nullable Native NATIVE = Native.load();

  private ClientSockets() {}

  /** Whether closed clients can be told apart from waiting ones on this platform. */
  static boolean available() {
    return NATIVE != null;
  }

  /** Why not, when not {@link #available}. */
  static String unavailableReason() {
    return Native.failure;
  }

  /**
   * The liveness probe of the connection {@code context} belongs to, or null when it cannot be made
   * (then the client is never reported closed).
   */
  static @Nullable Probe probe(ConnectionContext context) {
    return probe(context.serverSocket());
  }

  /** The liveness probe of Helidon's wrapper of an accepted connection, or null. */
  static @Nullable Probe probe(HelidonSocket socket) {
    Native n = NATIVE;
    if (n == null) {
      return null;
    }
    try {
      SocketChannel sc = n.channel(socket);
      if (sc == null) {
        return null;
      }
      int fd = (int) n.fdOf.invoke(sc);
      return new Probe(n, sc, fd);
    } catch (Throwable e) {
      return null;
    }
  }

  /**
   * Shuts the input of {@code context}'s connection: a read blocked on it returns the end of the
   * stream at once, while the output stays open for an answer. Returns false where it cannot.
   */
  static boolean shutdownInput(ConnectionContext context) {
    Native n = NATIVE;
    if (n == null) {
      return false;
    }
    try {
      SocketChannel channel = n.channel(context.serverSocket());
      if (channel != null) {
        channel.shutdownInput();
        return true;
      }
    } catch (ReflectiveOperationException | java.io.IOException | RuntimeException e) {
      // closed already, or not a socket channel
    }
    return false;
  }

  /** One client connection's probe. */
  static final class Probe {
    private final Native n;
    private final SocketChannel channel;
    private final int fd;

    private Probe(Native n, SocketChannel channel, int fd) {
      this.n = n;
      this.channel = channel;
      this.fd = fd;
    }

    /** True when the client closed or reset the connection (or it was closed here). */
    boolean closed() {
      if (!channel.isOpen()) {
        return true; // closed locally: checked first, so that a reused descriptor is never peeked
      }
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment state = arena.allocate(n.stateLayout);
        long received =
            (long) n.recv.invokeExact(state, fd, n.oneByte, 1L, MSG_PEEK | MSG_DONTWAIT);
        if (received > 0) {
          return false; // more bytes from a client that is still there
        }
        if (received == 0) {
          return true; // its FIN
        }
        int errno = (int) n.errno.get(state, 0L);
        return errno != EAGAIN && errno != EINTR;
      } catch (Throwable e) {
        return false;
      }
    }
  }

  /** The native pieces, found once. */
  private static final class Native {
    static String failure = "";

    final Field nioChannel;
    final Field plainSocket;
    final MethodHandle fdOf;
    final MethodHandle recv;
    final StructLayout stateLayout;
    final VarHandle errno;
    final MemorySegment oneByte;

    private Native(
        Field nioChannel,
        Field plainSocket,
        MethodHandle fdOf,
        MethodHandle recv,
        StructLayout stateLayout,
        VarHandle errno,
        MemorySegment oneByte) {
      this.nioChannel = nioChannel;
      this.plainSocket = plainSocket;
      this.fdOf = fdOf;
      this.recv = recv;
      this.stateLayout = stateLayout;
      this.errno = errno;
      this.oneByte = oneByte;
    }

    /** The accepted channel under Helidon's socket wrapper, or null when there is none. */
    @Nullable SocketChannel channel(HelidonSocket socket) throws IllegalAccessException {
      if (socket instanceof NioSocket) {
        return nioChannel.get(socket) instanceof SocketChannel channel ? channel : null;
      }
      if (socket instanceof PlainSocket) {
        return plainSocket.get(socket) instanceof Socket adaptor ? adaptor.getChannel() : null;
      }
      return null;
    }

    @SuppressWarnings("restricted") // the launcher passes --enable-native-access=ALL-UNNAMED
    static @Nullable Native load() {
      try {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
          throw new UnsupportedOperationException("not Linux");
        }
        // Helidon wraps the accepted channel in one of two ways (ListenerConfig.useNio): NioSocket
        // holds the SocketChannel, PlainSocket the channel's socket adaptor.
        Field channel = NioSocket.class.getDeclaredField("delegate");
        channel.setAccessible(true);
        Field socket = PlainSocket.class.getDeclaredField("delegate");
        socket.setAccessible(true);
        Class<?> selChImpl = Class.forName("sun.nio.ch.SelChImpl");
        MethodHandle fdOf =
            MethodHandles.lookup()
                .findVirtual(selChImpl, "getFDVal", MethodType.methodType(int.class))
                .asType(MethodType.methodType(int.class, SocketChannel.class));
        Linker linker = Linker.nativeLinker();
        Linker.Option errnoOption = Linker.Option.captureCallState("errno");
        StructLayout stateLayout = Linker.Option.captureStateLayout();
        MethodHandle recv =
            linker.downcallHandle(
                linker.defaultLookup().find("recv").orElseThrow(),
                FunctionDescriptor.of(
                    ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT),
                errnoOption);
        VarHandle errno =
            stateLayout.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
        // Written by concurrent peeks and never read: one shared byte will do.
        MemorySegment oneByte = Arena.global().allocate(1);
        return new Native(channel, socket, fdOf, recv, stateLayout, errno, oneByte);
      } catch (Throwable e) {
        failure =
            e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        LOG.debug("client disconnect detection unavailable", e);
        return null;
      }
    }
  }
}
