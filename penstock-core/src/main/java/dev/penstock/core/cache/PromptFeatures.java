package dev.penstock.core.cache;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@link PromptGuard} compares in one prompt, read in one pass: quoted spans, numbers and
 * operators in order, units in order, the count of negations, the words (lower case, in order) and
 * which of them look like names.
 *
 * @param quotes the text inside quotes or backticks, verbatim and sorted
 * @param numbers digits (canonical: "1,000" is 1000, "3.50" is 3.5), spelled-out numbers as digits,
 *     and math operators or currency signs, in the order they appear
 * @param units canonical units ("kilometres" is km), in the order they appear
 * @param negations how many negations (not, no, never, without, every n't...)
 * @param words every other word, lower case, possessive cut ("France's" is france), in order
 * @param names the words that look like names: capitalised (at a sentence's start only if not a
 *     common starter such as "What"), all capitals, camelCase, snake_case, dotted or called
 */
record PromptFeatures(
    List<String> quotes,
    List<String> numbers,
    List<String> units,
    int negations,
    List<String> words,
    Set<String> names) {

  private static final Pattern QUOTED =
      Pattern.compile(
          "(?s)```(.*?)```"
              + "|`([^`\\n]+)`"
              + "|\"([^\"\\n]*)\""
              + "|“([^”\\n]*)”"
              + "|«([^»\\n]*)»"
              + "|„([^“”\\n]*)[“”]"
              + "|(?<![\\p{L}\\p{N}])'([^\\n]+?)'(?![\\p{L}\\p{N}])"
              + "|(?<![\\p{L}\\p{N}])‘([^\\n]+?)’(?![\\p{L}\\p{N}])");

  private static final Pattern LANGUAGES_WITH_SIGNS =
      Pattern.compile("(?i)(?<![\\p{L}\\p{N}])([cf])(\\+\\+|#)");

  private static final Pattern TOKEN =
      Pattern.compile(
          "(?<num>\\d+(?:[.,]\\d+)*)"
              + "|(?<word>[\\p{L}_][\\p{L}\\p{N}_]*(?:['’]\\p{L}+)*"
              + "(?:\\.[\\p{L}_][\\p{L}\\p{N}_]*)*(?:\\(\\))?)"
              + "|(?<op>[+*/×÷^%=<>≤≥$€£¥°]|(?<![\\p{L}\\p{N}])-(?=\\d))"
              + "|(?<end>[.!?;:\\n])");

  private static final Pattern DIGITS = Pattern.compile("\\d+");
  private static final Pattern THOUSANDS = Pattern.compile("\\d{1,3}(?:,\\d{3})+");
  private static final Pattern DECIMAL = Pattern.compile("\\d+\\.\\d+");

  /** Reads {@code prompt}; linear in its length. */
  static PromptFeatures of(String prompt) {
    List<String> quotes = new ArrayList<>();
    String rest = withoutQuotes(prompt, quotes);
    quotes.sort(null);
    rest =
        LANGUAGES_WITH_SIGNS.matcher(rest).replaceAll(m -> signedLanguage(m.group(1), m.group(2)));
    Reader reader = new Reader();
    Matcher m = TOKEN.matcher(rest);
    while (m.find()) {
      if (m.start("num") >= 0) {
        reader.number(m.group("num"), m.end());
      } else if (m.start("word") >= 0) {
        reader.word(m.group("word"), rest, m.start());
      } else if (m.start("op") >= 0) {
        reader.numbers.add(m.group("op"));
      } else {
        reader.sentenceStart = true;
      }
    }
    return new PromptFeatures(
        List.copyOf(quotes),
        List.copyOf(reader.numbers),
        List.copyOf(reader.units),
        reader.negations,
        List.copyOf(reader.words),
        Set.copyOf(reader.names));
  }

  private static String withoutQuotes(String prompt, List<String> quotes) {
    Matcher m = QUOTED.matcher(prompt);
    StringBuilder rest = new StringBuilder(prompt.length());
    int from = 0;
    while (m.find()) {
      for (int g = 1; g <= m.groupCount(); g++) {
        String inside = m.group(g);
        if (inside != null) {
          quotes.add(inside.strip());
          break;
        }
      }
      rest.append(prompt, from, m.start()).append(' ');
      from = m.end();
    }
    return rest.append(prompt, from, prompt.length()).toString();
  }

  private static String signedLanguage(String letter, String sign) {
    String lang = letter.toLowerCase(Locale.ROOT);
    return sign.equals("#") ? lang + "sharp" : lang + "pp";
  }

  /** The running state of one pass. Not thread-safe; one per {@link #of} call. */
  private static final class Reader {
    final List<String> numbers = new ArrayList<>();
    final List<String> units = new ArrayList<>();
    final List<String> words = new ArrayList<>();
    final Set<String> names = new HashSet<>();
    int negations;
    boolean sentenceStart = true;
    int numberEnd = -1;

    void number(String digits, int end) {
      numbers.add(canonical(digits));
      numberEnd = end;
    }

    void word(String token, String text, int start) {
      boolean afterNumber = numberEnd >= 0 && text.substring(numberEnd, start).isBlank();
      boolean atStart = sentenceStart;
      sentenceStart = false;
      numberEnd = -1;
      String lower = token.toLowerCase(Locale.ROOT).replace('’', '\'');
      String unit = Lexicon.UNITS.get(lower);
      if (unit != null && (afterNumber || !Lexicon.UNITS_AFTER_NUMBER_ONLY.contains(lower))) {
        units.add(unit);
        return;
      }
      if (afterNumber && Lexicon.ORDINAL_SUFFIXES.contains(lower)) {
        return;
      }
      String number = Lexicon.NUMBER_WORDS.get(lower);
      if (number != null) {
        numbers.add(number);
        return;
      }
      if (Lexicon.NEGATORS.contains(lower) || Lexicon.BARE_NEGATIONS.contains(lower)) {
        negations++;
        return;
      }
      if (lower.endsWith("n't")) {
        negations++;
        lower = contracted(lower.substring(0, lower.length() - 3));
      }
      int apostrophe = lower.indexOf('\'');
      String base = apostrophe > 0 ? lower.substring(0, apostrophe) : lower;
      digitsInside(token);
      words.add(base);
      if (looksLikeName(token, base, atStart)) {
        names.add(base);
      }
    }

    /** "gpt4", "python3", "x86": the digits count as numbers too. */
    private void digitsInside(String token) {
      if (token.chars().anyMatch(Character::isDigit)) {
        Matcher d = DIGITS.matcher(token);
        while (d.find()) {
          numbers.add(canonical(d.group()));
        }
      }
    }
  }

  /** The verb before n't: "ca" (can't) is can, "wo" (won't) is will, "sha" (shan't) is shall. */
  private static String contracted(String stem) {
    return switch (stem) {
      case "ca" -> "can";
      case "wo" -> "will";
      case "sha" -> "shall";
      default -> stem;
    };
  }

  private static boolean looksLikeName(String token, String base, boolean atStart) {
    if (token.indexOf('_') >= 0 || token.indexOf('.') >= 0 || token.endsWith("()")) {
      return true; // snake_case, os.path.join, strlen()
    }
    boolean capitalised = Character.isUpperCase(token.codePointAt(0));
    boolean innerUpper = false;
    boolean allUpper = token.length() >= 2;
    for (int i = 1; i < token.length(); i++) {
      char c = token.charAt(i);
      if (Character.isUpperCase(c) && Character.isLowerCase(token.charAt(i - 1))) {
        innerUpper = true; // camelCase, iPhone, JavaScript
      }
      if (Character.isLowerCase(c)) {
        allUpper = false;
      }
    }
    if (innerUpper || (allUpper && capitalised)) {
      return !base.equals("i");
    }
    if (!capitalised || base.equals("i")) {
      return false;
    }
    return !atStart || !Lexicon.STARTERS.contains(base);
  }

  /** "1,000" is 1000, "007" is 7, "3.50" is 3.5, "2.0" is 2; versions ("1.2.3") stay. */
  static String canonical(String digits) {
    String n = THOUSANDS.matcher(digits).matches() ? digits.replace(",", "") : digits;
    if (DECIMAL.matcher(n).matches()) {
      int dot = n.indexOf('.');
      String fraction = n.substring(dot + 1).replaceFirst("0+$", "");
      String whole = stripLeadingZeros(n.substring(0, dot));
      return fraction.isEmpty() ? whole : whole + "." + fraction;
    }
    return n.indexOf('.') < 0 && n.indexOf(',') < 0 ? stripLeadingZeros(n) : n;
  }

  private static String stripLeadingZeros(String n) {
    int i = 0;
    while (i < n.length() - 1 && n.charAt(i) == '0') {
      i++;
    }
    return n.substring(i);
  }
}
