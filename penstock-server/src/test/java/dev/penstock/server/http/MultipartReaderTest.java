package dev.penstock.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Multipart bodies taken apart: binary content, CRLFs and boundary look-alikes inside a part. */
class MultipartReaderTest {
  private static final String CRLF = "\r\n";
  private static final String B = "----penstockBoundary7MA4YWxkTrZu0gW";

  private static byte[] body(byte[] file, String purposeFirst) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(("preamble to ignore\r\n--" + B + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
    out.write(
        ("Content-Disposition: form-data; name=\"purpose\"\r\n\r\n"
                + purposeFirst
                + "\r\n--"
                + B
                + "\r\n")
            .getBytes(StandardCharsets.ISO_8859_1));
    out.write(
        ("Content-Disposition: form-data; name=\"file\"; filename=\"in put.jsonl\""
                + CRLF
                + "Content-Type: application/octet-stream"
                + CRLF
                + CRLF)
            .getBytes(StandardCharsets.ISO_8859_1));
    out.write(file);
    out.write(("\r\n--" + B + "--\r\n").getBytes(StandardCharsets.ISO_8859_1));
    return out.toByteArray();
  }

  /** Hands out at most {@code n} bytes per read, so that boundaries straddle reads. */
  private static InputStream trickle(byte[] bytes, int n) {
    return new FilterInputStream(new ByteArrayInputStream(bytes)) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        return super.read(b, off, Math.min(len, n));
      }
    };
  }

  @Test
  void binaryContentWithBoundaryLookAlikesComesOutByteForByte() throws IOException {
    Random random = new Random(7);
    for (int size : new int[] {0, 1, 2, 37, 65_536, 200_003}) {
      byte[] file = new byte[size];
      random.nextBytes(file);
      // Near-delimiters inside the content: CRLF, CRLF--, CRLF-- and most of the boundary.
      byte[] tricky =
          ("\r\n--" + B.substring(0, B.length() - 1) + "x\r\n\r\n--")
              .getBytes(StandardCharsets.ISO_8859_1);
      if (size > tricky.length * 3) {
        System.arraycopy(tricky, 0, file, size / 2, tricky.length);
        System.arraycopy(tricky, 0, file, size - tricky.length, tricky.length);
      }
      for (int chunk : new int[] {1, 7, 100_000}) {
        MultipartReader reader = new MultipartReader(trickle(body(file, "batch"), chunk), B);
        MultipartReader.Part purpose = reader.next();
        assertThat(purpose.name()).isEqualTo("purpose");
        assertThat(purpose.filename()).isNull();
        assertThat(new String(purpose.content().readAllBytes(), StandardCharsets.UTF_8))
            .isEqualTo("batch");
        MultipartReader.Part part = reader.next();
        assertThat(part.name()).isEqualTo("file");
        assertThat(part.filename()).isEqualTo("in put.jsonl");
        assertThat(part.content().readAllBytes())
            .as("size %d chunk %d", size, chunk)
            .isEqualTo(file);
        assertThat(reader.next()).isNull();
      }
    }
  }

  @Test
  void unreadPartsAreSkipped() throws IOException {
    MultipartReader reader =
        new MultipartReader(new ByteArrayInputStream(body(new byte[] {1, 2}, "batch")), B);
    assertThat(reader.next().name()).isEqualTo("purpose");
    MultipartReader.Part file = reader.next();
    assertThat(file.name()).isEqualTo("file");
    assertThat(reader.next()).isNull();
  }

  @Test
  void truncatedBodiesAreMalformed() throws IOException {
    byte[] whole = body("abc".getBytes(StandardCharsets.UTF_8), "batch");
    byte[] cut = java.util.Arrays.copyOf(whole, whole.length - B.length() - 8);
    MultipartReader reader = new MultipartReader(new ByteArrayInputStream(cut), B);
    reader.next();
    MultipartReader.Part file = reader.next();
    assertThatThrownBy(() -> file.content().readAllBytes())
        .isInstanceOf(MultipartReader.MalformedException.class);
    assertThatThrownBy(
            () -> new MultipartReader(new ByteArrayInputStream(new byte[] {'x'}), B).next())
        .isInstanceOf(MultipartReader.MalformedException.class);
  }

  @Test
  void theBoundaryComesFromTheContentType() {
    assertThat(MultipartReader.boundary("multipart/form-data; boundary=abc")).isEqualTo("abc");
    assertThat(MultipartReader.boundary("Multipart/Form-Data;boundary=\"a b\"; x=y"))
        .isEqualTo("a b");
    assertThat(MultipartReader.boundary("application/json")).isNull();
    assertThat(MultipartReader.boundary("multipart/form-data")).isNull();
  }
}
