package dev.penstock.cli.bench;

import com.google.errorprone.annotations.FormatMethod;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A line chart rendered as inline SVG, so the HTML report needs no script, font or library and
 * opens offline. Configure with the {@code series}, {@code reference} and {@code xTicks} methods,
 * then {@link #render()}. Not thread-safe; one chart per report section.
 */
final class SvgChart {
  /*
   * Layout
   * ------
   * A fixed 760 x 300 viewBox, scaled by the browser (width: 100%). The plot area is inset for
   * the y tick labels (left), the legend (top) and the x tick labels and title (bottom). The y
   * axis starts at 0 and ends at a "nice" value above the largest point or reference line, so
   * a limit line is always inside the plot; x runs over the given range. Ticks are 1, 2 or 5
   * times a power of ten, about five per axis.
   */
  private static final int WIDTH = 760;
  private static final int HEIGHT = 300;
  private static final int LEFT = 64;
  private static final int RIGHT = 20;
  private static final int TOP = 34;
  private static final int BOTTOM = 44;

  /** One line of the chart: (x, y) points in data units. */
  record Series(String name, String color, List<double[]> points) {}

  /** A horizontal line at {@code y}, such as a configured limit. */
  record Reference(String label, double y) {}

  /** A labelled tick on the x axis. */
  record Tick(double x, String label) {}

  private final String title;
  private final String xTitle;
  private final String yTitle;
  private final List<Series> series = new ArrayList<>();
  private final List<Reference> references = new ArrayList<>();
  private List<Tick> xTicks = List.of();
  private double xMin;
  private double xMax = 1;

  SvgChart(String title, String xTitle, String yTitle) {
    this.title = title;
    this.xTitle = xTitle;
    this.yTitle = yTitle;
  }

  SvgChart xRange(double min, double max) {
    this.xMin = min;
    this.xMax = max > min ? max : min + 1;
    return this;
  }

  /** Labelled x ticks; without them the x axis gets evenly spaced numeric ticks. */
  SvgChart xTicks(List<Tick> ticks) {
    this.xTicks = List.copyOf(ticks);
    return this;
  }

  SvgChart series(String name, String color, List<double[]> points) {
    series.add(new Series(name, color, List.copyOf(points)));
    return this;
  }

  SvgChart reference(String label, double y) {
    references.add(new Reference(label, y));
    return this;
  }

  String render() {
    double yMax = niceCeiling(yMaxOfData());
    StringBuilder svg = new StringBuilder(4096);
    svg.append(
        format(
            "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n",
            WIDTH, HEIGHT, Html.escape(title)));
    svg.append("<title>").append(Html.escape(title)).append("</title>\n");
    axes(svg, yMax);
    for (Series s : series) {
      polyline(svg, s, yMax);
    }
    for (Reference reference : references) {
      referenceLine(svg, reference, yMax);
    }
    legend(svg);
    return svg.append("</svg>\n").toString();
  }

  private double yMaxOfData() {
    double max = 0;
    for (Series s : series) {
      for (double[] point : s.points()) {
        max = Math.max(max, point[1]);
      }
    }
    for (Reference reference : references) {
      max = Math.max(max, reference.y());
    }
    return max;
  }

  private void axes(StringBuilder svg, double yMax) {
    double step = niceStep(yMax);
    for (double y = 0; y <= yMax + step / 2; y += step) {
      double py = py(y, yMax);
      svg.append(
          format(
              "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                  + "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
              LEFT, py, WIDTH - RIGHT, py, LEFT - 6, py + 4, number(y)));
    }
    for (Tick tick : effectiveXTicks()) {
      double px = px(tick.x());
      svg.append(
          format(
              "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                  + "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
              px, TOP, px, HEIGHT - BOTTOM, px, HEIGHT - BOTTOM + 16, Html.escape(tick.label())));
    }
    svg.append(
        format(
            "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
                + "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
            LEFT,
            TOP,
            LEFT,
            HEIGHT - BOTTOM,
            LEFT,
            HEIGHT - BOTTOM,
            WIDTH - RIGHT,
            HEIGHT - BOTTOM));
    svg.append(
        format(
            "<text class=\"axis-title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
            (LEFT + WIDTH - RIGHT) / 2, HEIGHT - 6, Html.escape(xTitle)));
    svg.append(
        format(
            "<text class=\"axis-title\" transform=\"translate(14 %d) rotate(-90)\""
                + " text-anchor=\"middle\">%s</text>\n",
            (TOP + HEIGHT - BOTTOM) / 2, Html.escape(yTitle)));
  }

  private List<Tick> effectiveXTicks() {
    if (!xTicks.isEmpty()) {
      return xTicks;
    }
    List<Tick> ticks = new ArrayList<>();
    double step = niceStep(xMax - xMin);
    for (double x = Math.ceil(xMin / step) * step; x <= xMax + step / 1e6; x += step) {
      ticks.add(new Tick(x, number(x)));
    }
    return ticks;
  }

  private void polyline(StringBuilder svg, Series s, double yMax) {
    if (s.points().isEmpty()) {
      return;
    }
    StringBuilder points = new StringBuilder();
    for (double[] point : s.points()) {
      points.append(format("%.1f,%.1f ", px(point[0]), py(point[1], yMax)));
    }
    svg.append(
        format(
            "<polyline class=\"series\" stroke=\"%s\" points=\"%s\"><title>%s</title></polyline>\n",
            s.color(), points.toString().trim(), Html.escape(s.name())));
  }

  private void referenceLine(StringBuilder svg, Reference reference, double yMax) {
    double py = py(reference.y(), yMax);
    svg.append(
        format(
            "<line class=\"limit\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                + "<text class=\"limit-label\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
            LEFT,
            py,
            WIDTH - RIGHT,
            py,
            WIDTH - RIGHT - 4,
            py - 5,
            Html.escape(reference.label())));
  }

  private void legend(StringBuilder svg) {
    int x = LEFT;
    for (Series s : series) {
      svg.append(
          format(
              "<rect x=\"%d\" y=\"10\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                  + "<text class=\"legend\" x=\"%d\" y=\"20\">%s</text>\n",
              x, s.color(), x + 16, Html.escape(s.name())));
      x += 28 + 7 * s.name().length();
    }
  }

  private double px(double x) {
    return LEFT + (x - xMin) / (xMax - xMin) * (WIDTH - LEFT - RIGHT);
  }

  private static double py(double y, double yMax) {
    return HEIGHT - BOTTOM - y / yMax * (HEIGHT - TOP - BOTTOM);
  }

  /** The smallest multiple of a nice step at or above {@code max}; 1 for an empty chart. */
  static double niceCeiling(double max) {
    if (max <= 0) {
      return 1;
    }
    double step = niceStep(max);
    return Math.ceil(max / step * (1 + 1e-9)) * step;
  }

  /** About a fifth of {@code range}, rounded to 1, 2 or 5 times a power of ten. */
  static double niceStep(double range) {
    if (range <= 0) {
      return 1;
    }
    double raw = range / 5;
    double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    double normal = raw / magnitude;
    double nice = normal < 1.5 ? 1 : normal < 3 ? 2 : normal < 7 ? 5 : 10;
    return nice * magnitude;
  }

  /** A tick label: compact for thousands, and without a trailing ".0". */
  static String number(double value) {
    double rounded = Math.round(value * 1e6) / 1e6;
    if (Math.abs(rounded) >= 10_000) {
      return trim(format("%.1f", rounded / 1_000)) + "k";
    }
    return trim(format("%.3f", rounded));
  }

  private static String trim(String decimal) {
    return decimal.contains(".") ? decimal.replaceAll("\\.?0+$", "") : decimal;
  }

  @FormatMethod
  private static String format(String pattern, Object... args) {
    return String.format(Locale.ROOT, pattern, args);
  }
}
