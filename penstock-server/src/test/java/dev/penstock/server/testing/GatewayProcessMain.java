package dev.penstock.server.testing;

import dev.penstock.server.config.ConfigLoader;
import dev.penstock.server.http.GatewayServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * A gateway in a process of its own, for tests that kill it ({@link GatewayProcess}): starts a
 * {@link GatewayServer} from the config file named by the first argument, prints {@value #READY}
 * and its port on one stdout line, then runs until its stdin ends — so that a test JVM that dies
 * leaves no gateway behind — and halts without closing anything.
 */
public final class GatewayProcessMain {
  /** The start of the line that says the gateway listens; the port follows it. */
  public static final String READY = "penstock-test-gateway ready on port ";

  private GatewayProcessMain() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      System.err.println("usage: GatewayProcessMain <config.yaml>");
      System.exit(2);
    }
    GatewayServer server = GatewayServer.builder(new ConfigLoader().load(Path.of(args[0]))).start();
    System.out.println(READY + server.port());
    System.out.flush();
    InputStream in = System.in;
    byte[] buffer = new byte[64];
    while (in.read(buffer) != -1) {
      // the parent's pipe: nothing is ever written, its end means the parent is gone
    }
    Runtime.getRuntime().halt(0);
  }
}
