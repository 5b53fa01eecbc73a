package dev.penstock.cli;

import java.lang.reflect.Proxy;

/**
 * Runs an action on every {@code SIGHUP}, the Unix convention for "re-read your configuration".
 *
 * <p>Java has no public API for signals; {@code sun.misc.Signal} (module jdk.unsupported) is the
 * one every JVM server uses. It is reached by reflection because the build compiles with {@code
 * -Werror} and javac's "internal proprietary API" warning cannot be suppressed.
 */
final class Sighup {
  private Sighup() {}

  /** What installing the handler found. */
  enum Installed {
    /** SIGHUP reloads. */
    YES,
    /**
     * SIGHUP was ignored when the process started ({@code nohup}, some supervisors). The JVM then
     * keeps it ignored (it installs no handler for a hangup signal its parent ignored), so SIGHUP
     * cannot reload: say so at start rather than silently.
     */
    WAS_IGNORED,
    /** No SIGHUP on this platform. */
    NO
  }

  /** Installs {@code action}; says whether SIGHUP was ignored before, or does not exist. */
  @SuppressWarnings("ReferenceEquality") // SIG_IGN is a singleton: identity is the question
  static Installed onSignal(Runnable action) {
    try {
      Class<?> signal = Class.forName("sun.misc.Signal");
      Class<?> handler = Class.forName("sun.misc.SignalHandler");
      Object hup = signal.getConstructor(String.class).newInstance("HUP");
      Object proxy =
          Proxy.newProxyInstance(
              Sighup.class.getClassLoader(),
              new Class<?>[] {handler},
              (self, method, args) -> {
                if (method.getName().equals("handle")) {
                  Thread.ofVirtual().name("penstock-sighup").start(action);
                  return null;
                }
                return method.invoke(action, args); // toString, hashCode, equals
              });
      Object previous = signal.getMethod("handle", signal, handler).invoke(null, hup, proxy);
      Object ignore = handler.getField("SIG_IGN").get(null);
      return previous == ignore ? Installed.WAS_IGNORED : Installed.YES;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return Installed.NO;
    }
  }
}
