package dev.penstock.server.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files are written whole or not at all, and what a killed process left half-written goes. */
class FileStoreTest {
  @TempDir Path dir;

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private long entries() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.count();
    }
  }

  @Test
  void aFileIsWrittenWholeAndReplacedWhole() throws Exception {
    DirectoryFileStore store = new DirectoryFileStore(dir);
    assertThat(store.write("file-a", out -> out.write(bytes("first")))).isEqualTo(5);
    assertThat(store.write("file-a", out -> out.write(bytes("second!")))).isEqualTo(7);
    try (InputStream in = store.open("file-a")) {
      assertThat(in.readAllBytes()).isEqualTo(bytes("second!"));
    }
    assertThat(entries()).isEqualTo(1);
  }

  @Test
  void aWriteThatFailsLeavesNeitherThePartNorTheOldFileChanged() throws Exception {
    DirectoryFileStore store = new DirectoryFileStore(dir);
    store.write("file-a", out -> out.write(bytes("kept")));
    assertThatThrownBy(
            () ->
                store.write(
                    "file-a",
                    out -> {
                      out.write(bytes("half"));
                      throw new IOException("disk gone");
                    }))
        .hasMessage("disk gone");
    try (InputStream in = store.open("file-a")) {
      assertThat(in.readAllBytes()).isEqualTo(bytes("kept"));
    }
    assertThat(entries()).isEqualTo(1);
  }

  @Test
  void anUploadOverTheLimitKeepsNothing() throws Exception {
    DirectoryFileStore store = new DirectoryFileStore(dir);
    assertThat(store.write("file-b", new ByteArrayInputStream(new byte[10]), 10)).isEqualTo(10);
    assertThatThrownBy(() -> store.write("file-c", new ByteArrayInputStream(new byte[11]), 10))
        .isInstanceOf(FileStore.TooLargeException.class);
    assertThat(store.exists("file-c")).isFalse();
    assertThat(entries()).isEqualTo(1);
  }

  @Test
  void temporaryFilesAKilledProcessLeftAreRemovedAtOpen() throws Exception {
    Files.write(dir.resolve(".tmp-123"), bytes("cut off"));
    Files.write(dir.resolve("file-kept"), bytes("whole"));
    DirectoryFileStore store = new DirectoryFileStore(dir);
    assertThat(Files.exists(dir.resolve(".tmp-123"))).isFalse();
    assertThat(store.exists("file-kept")).isTrue();
  }

  @Test
  void onlyFileIdsNameFiles() throws Exception {
    DirectoryFileStore store = new DirectoryFileStore(dir);
    assertThatThrownBy(() -> store.path("../etc/passwd"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.path("file-a/b")).isInstanceOf(IllegalArgumentException.class);
  }
}
