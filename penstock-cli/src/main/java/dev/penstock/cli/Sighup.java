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

  /** Installs {@code action}; returns false (and does nothing) where SIGHUP does not exist. */
  static boolean onSignal(Runnable action) {
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
      signal.getMethod("handle", signal, handler).invoke(null, hup, proxy);
      return true;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return false;
    }
  }
}
