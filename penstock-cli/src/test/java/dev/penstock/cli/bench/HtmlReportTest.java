package dev.penstock.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class HtmlReportTest {
  private static final URI TARGET = URI.create("http://gateway.test:8080/v1");

  @Test
  void isOneDocumentWithInlineChartsAndTables() {
    String html = HtmlReport.render(SampleResults.openLoopStream(TARGET, "gpt-4o-mini"));

    assertThat(html).startsWith("<!DOCTYPE html>").endsWith("</html>\n");
    assertThat(count(html, "<svg")).isEqualTo(4); // throughput, tokens, latency, ttft
    assertThat(count(html, "<svg")).isEqualTo(count(html, "</svg>"));
    assertThat(html)
        .contains("Throughput over time", "Latency distribution", "Time to first token");
    assertThat(html).contains("<td>2xx</td>", "<td>429</td>", "<td>org-a</td>");
  }

  @Test
  void drawsTheConfiguredLimitAsALine() {
    String html = HtmlReport.render(SampleResults.openLoopStream());

    assertThat(html).contains("class=\"limit\"", "configured limit 1000 rpm");
  }

  @Test
  void withoutALimitThereIsNoLimitLine() {
    String html = HtmlReport.render(SampleResults.closedLoop());

    assertThat(html).doesNotContain("class=\"limit\"");
    assertThat(count(html, "<svg")).isEqualTo(3); // no TTFT chart without streams
  }

  @Test
  void referencesNothingOutsideTheFileExceptTheTargetAsText() {
    String html = HtmlReport.render(SampleResults.openLoopStream(TARGET, "gpt-4o-mini"));

    Matcher urls = Pattern.compile("(?i)https?://[^\\s\"'<)]*").matcher(html);
    while (urls.find()) {
      assertThat(urls.group()).startsWith(TARGET.toString());
    }
    assertThat(html).doesNotContainIgnoringCase("<script").doesNotContainIgnoringCase("<link");
    assertThat(html).doesNotContainIgnoringCase("src=").doesNotContainIgnoringCase("@import");
  }

  @Test
  void escapesEverythingTheUserTyped() {
    String html =
        HtmlReport.render(SampleResults.openLoopStream(TARGET, "<script>alert('x')</script>"));

    assertThat(html).doesNotContain("<script>").contains("&lt;script&gt;alert(&#39;x&#39;)");
  }

  @Test
  void ratesAreAveragedOverATrailingWindow() {
    var seconds =
        java.util.List.of(
            new TimelineSecond(0, 0, 10, 0, 0, 0),
            new TimelineSecond(1, 0, 20, 0, 0, 0),
            new TimelineSecond(2, 0, 30, 0, 0, 0));

    assertThat(HtmlReport.rate(seconds, 2, TimelineSecond::ok))
        .containsExactly(new double[] {1, 600}, new double[] {2, 900}, new double[] {3, 1500});
  }

  @Test
  void chartAxesUseNiceRoundTicks() {
    assertThat(SvgChart.niceStep(1000)).isEqualTo(200);
    assertThat(SvgChart.niceStep(7)).isEqualTo(1);
    assertThat(SvgChart.niceCeiling(1234)).isEqualTo(1400);
    assertThat(SvgChart.niceCeiling(0)).isEqualTo(1);
    assertThat(SvgChart.number(12_500)).isEqualTo("12.5k");
    assertThat(SvgChart.number(2.50)).isEqualTo("2.5");
  }

  private static int count(String text, String part) {
    return text.split(Pattern.quote(part), -1).length - 1;
  }
}
