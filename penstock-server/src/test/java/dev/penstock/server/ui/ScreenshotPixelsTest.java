package dev.penstock.server.ui;

import static dev.penstock.server.ui.ScreenshotPixels.CHART_PRIMARY_RGB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScreenshotPixelsTest {
  @TempDir Path dir;

  /** 40x10 white, 37 pixels of the exact blue, 5 off by 2 in each channel, 3 off by 40 in red. */
  private Path sample() throws IOException {
    BufferedImage image = new BufferedImage(40, 10, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 10; y++) {
      for (int x = 0; x < 40; x++) {
        image.setRGB(x, y, 0xffffff);
      }
    }
    for (int i = 0; i < 37; i++) {
      image.setRGB(i, 2, CHART_PRIMARY_RGB);
    }
    for (int i = 0; i < 5; i++) {
      image.setRGB(i, 5, 0x2361e9); // each channel 2 below
    }
    for (int i = 0; i < 3; i++) {
      image.setRGB(i, 8, 0x4d63eb); // red 40 above
    }
    Path png = dir.resolve("sample.png");
    assertThat(ImageIO.write(image, "png", png.toFile())).isTrue();
    return png;
  }

  @Test
  void countsExactlyMatchingPixelsAtToleranceZero() throws IOException {
    assertThat(ScreenshotPixels.countColour(sample(), CHART_PRIMARY_RGB, 0)).isEqualTo(37);
  }

  @Test
  void toleranceAdmitsNearbyShadesInEveryChannel() throws IOException {
    Path png = sample();
    assertThat(ScreenshotPixels.countColour(png, CHART_PRIMARY_RGB, 2)).isEqualTo(42);
    assertThat(ScreenshotPixels.countColour(png, CHART_PRIMARY_RGB, 40)).isEqualTo(45);
    assertThat(ScreenshotPixels.countColour(png, 0xffffff, 0)).isEqualTo(400 - 45);
  }

  @Test
  void refusesFilesThatAreNotImages() throws IOException {
    Path text = Files.writeString(dir.resolve("not.png"), "not an image");
    assertThatThrownBy(() -> ScreenshotPixels.countColour(text, CHART_PRIMARY_RGB, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not.png");
  }
}
