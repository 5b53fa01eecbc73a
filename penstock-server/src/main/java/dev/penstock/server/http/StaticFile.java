package dev.penstock.server.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A file the gateway serves as it is (the dashboard page), read from the classpath at start. */
@SuppressWarnings("ArrayRecordComponent") // a carrier, never compared: the bytes are sent as is
record StaticFile(byte[] bytes, String contentType) {

  /** Loads {@code names} from the classpath folder {@code folder}; missing ones are left out. */
  static Map<String, StaticFile> load(String folder, List<String> names) {
    Map<String, StaticFile> files = new LinkedHashMap<>();
    ClassLoader loader = StaticFile.class.getClassLoader();
    for (String name : names) {
      try (InputStream in = loader.getResourceAsStream(folder + name)) {
        if (in != null) {
          files.put(name, new StaticFile(in.readAllBytes(), contentType(name)));
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + folder + name, e);
      }
    }
    return Map.copyOf(files);
  }

  private static String contentType(String name) {
    if (name.endsWith(".html")) {
      return "text/html; charset=utf-8";
    }
    if (name.endsWith(".js")) {
      return "text/javascript; charset=utf-8";
    }
    return name.endsWith(".css") ? "text/css; charset=utf-8" : "application/octet-stream";
  }
}
