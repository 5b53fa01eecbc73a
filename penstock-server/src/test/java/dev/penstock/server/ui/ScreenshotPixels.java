package dev.penstock.server.ui;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * Counts pixels of one colour in a screenshot, so a test can tell that a chart drew its series.
 *
 * <p>The dashboard draws the primary series of every chart in exactly {@code rgb(37, 99, 235)}
 * ({@code 0x2563eb}) and nothing else on the canvases in that colour; anti-aliased edges come out
 * as nearby shades, which the tolerance admits. Stateless; safe from any thread.
 */
public final class ScreenshotPixels {
  /** The primary series colour of the dashboard's charts. */
  public static final int CHART_PRIMARY_RGB = 0x2563eb;

  private ScreenshotPixels() {}

  /**
   * The number of pixels of {@code png} whose red, green and blue each differ from those of {@code
   * rgb} (as {@code 0xRRGGBB}) by at most {@code tolerance}. Alpha is ignored: screenshots are
   * opaque.
   *
   * @throws UncheckedIOException if the file cannot be read
   * @throws IllegalArgumentException if it is not an image ImageIO can decode, or the tolerance is
   *     negative
   */
  public static long countColour(Path png, int rgb, int tolerance) {
    if (tolerance < 0) {
      throw new IllegalArgumentException("tolerance must be >= 0, was " + tolerance);
    }
    BufferedImage image = read(png);
    int width = image.getWidth();
    int[] row = new int[width];
    long count = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      image.getRGB(0, y, width, 1, row, 0, width);
      for (int argb : row) {
        if (near(argb, rgb, tolerance)) {
          count++;
        }
      }
    }
    return count;
  }

  /**
   * How many rows of {@code png} hold at least one pixel of the colour: the vertical extent of a
   * series. A flat line at zero covers a few rows; a series with data rises through many.
   */
  public static int rowsWithColour(Path png, int rgb, int tolerance) {
    BufferedImage image = read(png);
    int width = image.getWidth();
    int[] row = new int[width];
    int rows = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      image.getRGB(0, y, width, 1, row, 0, width);
      for (int argb : row) {
        if (near(argb, rgb, tolerance)) {
          rows++;
          break;
        }
      }
    }
    return rows;
  }

  private static BufferedImage read(Path png) {
    BufferedImage image;
    try {
      image = ImageIO.read(png.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the image " + png, e);
    }
    if (image == null) {
      throw new IllegalArgumentException("Not an image ImageIO can decode: " + png);
    }
    return image;
  }

  private static boolean near(int argb, int rgb, int tolerance) {
    for (int shift = 0; shift <= 16; shift += 8) {
      int difference = ((argb >> shift) & 0xff) - ((rgb >> shift) & 0xff);
      if (Math.abs(difference) > tolerance) {
        return false;
      }
    }
    return true;
  }
}
