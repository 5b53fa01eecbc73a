package dev.penstock.core.cache;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The English word lists {@link PromptGuard} reads prompts with: negations, groups of words whose
 * values exclude each other (on/off, python/java, Monday/Tuesday), spelled-out numbers, units, and
 * the common words that start a sentence without naming anything.
 *
 * <p>A word may have several senses ("right" is both the opposite of "wrong" and of "left"). The
 * lists are built once, at class initialisation, and are immutable: safe to read from any thread.
 */
final class Lexicon {
  private Lexicon() {}

  /** Words that negate what follows; every {@code n't} contraction counts as {@code not}. */
  static final Set<String> NEGATORS =
      Set.of(
          "not", "no", "never", "none", "nothing", "nobody", "nowhere", "neither", "nor", "without",
          "cannot", "non");

  /** Contractions typed without their apostrophe, each a negation. */
  static final Set<String> BARE_NEGATIONS =
      Set.of(
          "dont",
          "doesnt",
          "didnt",
          "isnt",
          "arent",
          "wasnt",
          "werent",
          "cant",
          "couldnt",
          "shouldnt",
          "wouldnt",
          "wont",
          "hasnt",
          "havent",
          "hadnt",
          "aint",
          "mustnt",
          "neednt",
          "mightnt",
          "shant");

  /**
   * Groups of words whose values exclude each other: one line a group, {@code |} between values,
   * spaces between the synonyms of one value. A trailing {@code ~} adds the comparative and
   * superlative ({@code big~}: big, bigger, biggest).
   */
  private static final String GROUPS =
      """
      power: on enable activate unmute | off disable deactivate mute
      visibility: show visible unhide reveal | hide hidden invisible conceal
      permission: allow permit accept approve grant whitelist allowlist unblock \
      | deny forbid reject decline refuse revoke block blacklist blocklist ban
      inclusion: include inclusive | exclude exclusive
      inout: in inside into within inner internal inbound incoming input \
      | out outside outer external outbound outgoing output
      trade-direction: import | export
      run: start begin launch resume play | stop end finish halt pause kill terminate quit exit
      door: open | close shut
      quantity: increase raise grow expand extend maximize maximise more most gain boost \
      | decrease reduce shrink shorten minimize minimise less least fewer fewest lose cut
      bound: max maximum ceiling ceil | min minimum floor
      membership: add insert append prepend create install attach \
      | remove delete erase pop drop destroy uninstall detach clear strip
      truth: true yes correct valid right success succeed pass | false incorrect invalid wrong failure fail
      quality: good~ better best pros advantage advantages benefit benefits positive strength strengths \
      upside | bad worse worst cons disadvantage disadvantages drawback drawbacks negative weakness \
      weaknesses downside
      time: before earlier prior previous past ago last | after later next following future upcoming
      vertical: above over top upper up upward upwards high~ rise uppercase \
      | below under beneath bottom lower down downward downwards low~ fall lowercase
      order: ascending asc increasing | descending desc decreasing
      side: left | right
      compass: north northern | south southern | east eastern | west western
      size: big~ large~ huge tall~ long~ wide~ thick~ heavy~ | small~ little tiny short~ narrow~ thin~ light~
      speed: fast~ quick~ quickly rapid | slow~ slowly
      temperature: hot~ warm~ heat | cold~ cool~ freeze
      age: old~ ancient legacy | new~ young~ modern recent latest
      price: cheap~ affordable | expensive costly pricey
      difficulty: easy~ simple | hard~ difficult complex complicated
      safety: safe~ secure harmless healthy legal \
      | dangerous risky harmful insecure unhealthy illegal toxic deadly unsafe
      trade: buy purchase | sell
      transfer: send upload push lend | receive download pull borrow
      cipher: encrypt encode encryption encoding | decrypt decode decryption decoding
      feeling: love like enjoy prefer | hate dislike despise
      gender: male man men boy boys he him his husband father dad son brother king masculine \
      | female woman women girl girls she her hers wife mother mom mum daughter sister queen feminine
      orientation: horizontal horizontally row rows width | vertical vertically column columns height
      theme: dark~ night | light~ bright~
      sync: synchronous sync blocking | asynchronous async nonblocking
      access: public | private | protected
      scope: local | global | remote
      arithmetic: plus sum addition | minus subtract subtraction difference \
      | times multiply multiplied multiplication product | divide divided division quotient
      likeness: same equal identical similar alike | different differ distinct dissimilar unequal
      frequency: always | usually often frequently typically | sometimes occasionally | rarely seldom
      quantifier: all every each everyone everything everybody | some several someone something somebody
      stance: pro support supporting favor favour proponent | anti against oppose opposing opponent
      contest: win won winning victory winner | lose lost losing defeat loser
      balance: profit profits | loss losses
      statistic: mean average | median
      day: today tonight | tomorrow | yesterday
      weekday: monday mon | tuesday tue tues | wednesday | thursday thu thurs | friday fri \
      | saturday | sunday
      month: january | february feb | march | april apr | june | july | august aug \
      | september sept | october oct | november nov | december
      season: spring | summer | autumn fall | winter
      colour: red | green | blue | yellow | orange | purple violet | pink | black | white \
      | gray grey | brown
      programming: python py | java | javascript js | typescript ts | rust | golang | cpp | csharp \
      | fsharp | ruby | php | kotlin | swift | scala | perl | bash shell | powershell | sql | html \
      | css | haskell | elixir | erlang | lua | dart | julia | matlab | zig | ocaml | clojure \
      | groovy | cobol | fortran | lisp | prolog | solidity
      language: english | french | german | spanish | italian | portuguese | chinese mandarin \
      | japanese | korean | russian | arabic | hindi | dutch | swedish | polish | turkish | greek \
      | hebrew | latin | ukrainian | vietnamese | thai | indonesian
      system: windows | linux | macos mac osx | ios | android | ubuntu | debian | fedora | freebsd
      database: mysql | postgres postgresql | sqlite | mongodb mongo | redis | oracle | cassandra \
      | dynamodb | elasticsearch
      """;

  /** Spelled-out numbers, as the digits they stand for. */
  static final Map<String, String> NUMBER_WORDS = numberWords();

  /** Unit spellings, as one canonical name each ("kilometres" and "km" are both km). */
  static final Map<String, String> UNITS = units();

  /** Units too short or too common to count unless they follow a number ("5 m", not "I'm"). */
  static final Set<String> UNITS_AFTER_NUMBER_ONLY =
      Set.of(
          "m", "g", "l", "c", "f", "k", "s", "h", "b", "w", "v", "a", "in", "min", "mins", "ms",
          "sec", "secs", "second", "yr", "yrs", "hr", "hrs");

  /** Ordinal suffixes after digits ("1st"): not words of their own. */
  static final Set<String> ORDINAL_SUFFIXES = Set.of("st", "nd", "rd", "th");

  /**
   * Capitalised at the start of a sentence, these name nothing: question words, pronouns,
   * auxiliaries, articles, conjunctions and the verbs prompts start with.
   */
  static final Set<String> STARTERS =
      words(
          """
          how what why when where who whom whose which whats hows i you we they he she it my your
          our their its me this that these those the a an there here is are was were be am do does
          did can could would should will shall may might must have has had if and but or so then
          also now just in on at for from with by to of about as after before hi hello hey thanks
          thank please ok okay yes no not let lets write explain tell give show list make create
          find convert translate summarize summarise describe compare calculate compute generate
          help define provide suggest recommend name use using get set add remove check fix build
          run install implement rewrite improve sort reverse print read parse return any some all
          every each best good quick simple difference ways way tips steps step example examples
          question turn enable disable open close start stop delete update change need want
          looking trying try i'm im i've i'd i'll cant dont doesnt isnt
          """);

  /** Words a suffix rule would turn into an unrelated lexicon word ("news" is not "new"). */
  private static final Set<String> NOT_STEMMED =
      Set.of("news", "only", "ones", "series", "species", "lens", "bus", "gas", "this", "is");

  /** Prefixes that make a word its opposite: safe/unsafe, valid/invalid, code/decode. */
  private static final List<String> OPPOSITE_PREFIXES =
      List.of("un", "in", "im", "il", "ir", "dis", "non", "anti", "de", "mis", "ab");

  private static final int[] NO_SENSES = new int[0];

  private static Set<String> words(String spaced) {
    return Set.copyOf(java.util.Arrays.asList(spaced.strip().split("\\s+", -1)));
  }

  private static final List<String> GROUP_NAMES = new ArrayList<>();

  /** Word to senses, each {@code group * 64 + value}. */
  private static final Map<String, int[]> SENSES = senses();

  /** The senses of {@code word} (lower case), trying light suffix stripping when it has none. */
  static int[] senses(String word) {
    int[] found = SENSES.get(word);
    if (found != null || NOT_STEMMED.contains(word)) {
      return found == null ? NO_SENSES : found;
    }
    for (String stem : stems(word)) {
      found = SENSES.get(stem);
      if (found != null) {
        return found;
      }
    }
    return NO_SENSES;
  }

  /** The group a sense belongs to. */
  static int group(int sense) {
    return sense >>> 6;
  }

  /** The name of a group, for {@link PromptGuard#reason}. */
  static String groupName(int sense) {
    return GROUP_NAMES.get(group(sense));
  }

  /** True when one word is the other with a negating prefix, or -ful against -less. */
  static boolean prefixOpposites(String a, String b) {
    boolean aShorter = a.length() <= b.length();
    String shorter = aShorter ? a : b;
    String longer = aShorter ? b : a;
    if (shorter.length() >= 3 && longer.endsWith(shorter)) {
      String prefix = longer.substring(0, longer.length() - shorter.length());
      if (OPPOSITE_PREFIXES.contains(prefix)) {
        return true;
      }
    }
    return suffixOpposites(a, b) || suffixOpposites(b, a);
  }

  private static boolean suffixOpposites(String ful, String less) {
    return ful.endsWith("ful")
        && less.endsWith("less")
        && ful.length() >= 6
        && ful.regionMatches(0, less, 0, ful.length() - 3)
        && less.length() == ful.length() + 1;
  }

  /** Candidate base forms of an inflected word: plural, past, gerund, adverb. */
  private static List<String> stems(String w) {
    List<String> out = new ArrayList<>(4);
    int n = w.length();
    if (n > 4 && w.endsWith("ies")) {
      out.add(w.substring(0, n - 3) + "y");
    } else if (n > 3 && w.endsWith("es")) {
      out.add(w.substring(0, n - 2));
      out.add(w.substring(0, n - 1));
    } else if (n > 3 && w.endsWith("s") && !w.endsWith("ss")) {
      out.add(w.substring(0, n - 1));
    } else if (n > 4 && w.endsWith("ed")) {
      addVerbStems(out, w.substring(0, n - 2));
    } else if (n > 5 && w.endsWith("ing")) {
      addVerbStems(out, w.substring(0, n - 3));
    } else if (n > 4 && w.endsWith("ily")) {
      out.add(w.substring(0, n - 3) + "y");
    } else if (n > 4 && w.endsWith("ly")) {
      out.add(w.substring(0, n - 2));
    }
    return out;
  }

  private static void addVerbStems(List<String> out, String stem) {
    out.add(stem);
    out.add(stem + "e");
    int n = stem.length();
    if (n > 2 && stem.charAt(n - 1) == stem.charAt(n - 2)) {
      out.add(stem.substring(0, n - 1)); // stopped, running
    }
  }

  private static Map<String, int[]> senses() {
    Map<String, int[]> senses = new HashMap<>();
    for (String line : GROUPS.strip().split("\n", -1)) {
      int colon = line.indexOf(':');
      int group = GROUP_NAMES.size();
      GROUP_NAMES.add(line.substring(0, colon));
      String[] values = line.substring(colon + 1).split("\\|", -1);
      for (int value = 0; value < values.length; value++) {
        for (String spelled : values[value].strip().split(" +", -1)) {
          for (String word : forms(spelled)) {
            addSense(senses, word, group * 64 + value);
          }
        }
      }
    }
    return Map.copyOf(senses);
  }

  private static void addSense(Map<String, int[]> senses, String word, int sense) {
    int[] old = senses.getOrDefault(word, NO_SENSES);
    for (int s : old) {
      if (group(s) == group(sense)) {
        if (s != sense) {
          throw new IllegalStateException("lexicon: '" + word + "' has two values in a group");
        }
        return;
      }
    }
    int[] grown = java.util.Arrays.copyOf(old, old.length + 1);
    grown[old.length] = sense;
    senses.put(word, grown);
  }

  /** The word, or with {@code ~} its comparative and superlative too. */
  private static List<String> forms(String spelled) {
    if (!spelled.endsWith("~")) {
      return List.of(spelled);
    }
    String w = spelled.substring(0, spelled.length() - 1);
    int n = w.length();
    char last = w.charAt(n - 1);
    if (last == 'e') {
      return List.of(w, w + "r", w + "st");
    }
    if (last == 'y') {
      String stem = w.substring(0, n - 1);
      return List.of(w, stem + "ier", stem + "iest");
    }
    if (n <= 4 && isVowel(w.charAt(n - 2)) && !isVowel(last) && "wxy".indexOf(last) < 0) {
      return List.of(w, w + last + "er", w + last + "est", w + "er", w + "est"); // big, bigger
    }
    return List.of(w, w + "er", w + "est");
  }

  private static boolean isVowel(char c) {
    return "aeiou".indexOf(c) >= 0;
  }

  private static Map<String, String> numberWords() {
    String[] small = {
      "zero",
      "one",
      "two",
      "three",
      "four",
      "five",
      "six",
      "seven",
      "eight",
      "nine",
      "ten",
      "eleven",
      "twelve",
      "thirteen",
      "fourteen",
      "fifteen",
      "sixteen",
      "seventeen",
      "eighteen",
      "nineteen",
      "twenty"
    };
    String[] ordinals = {
      "zeroth",
      "first",
      "second",
      "third",
      "fourth",
      "fifth",
      "sixth",
      "seventh",
      "eighth",
      "ninth",
      "tenth",
      "eleventh",
      "twelfth"
    };
    Map<String, String> words = new HashMap<>();
    for (int i = 0; i < small.length; i++) {
      words.put(small[i], Integer.toString(i));
    }
    for (int i = 0; i < ordinals.length; i++) {
      words.put(ordinals[i], Integer.toString(i));
    }
    String[] tens = {"thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
    for (int i = 0; i < tens.length; i++) {
      words.put(tens[i], Integer.toString(30 + 10 * i));
    }
    words.putAll(
        Map.ofEntries(
            Map.entry("twentieth", "20"),
            Map.entry("hundred", "100"),
            Map.entry("hundredth", "100"),
            Map.entry("thousand", "1000"),
            Map.entry("million", "1000000"),
            Map.entry("billion", "1000000000"),
            Map.entry("trillion", "1000000000000"),
            Map.entry("dozen", "12"),
            Map.entry("half", "0.5"),
            Map.entry("quarter", "0.25"),
            Map.entry("twice", "x2"),
            Map.entry("double", "x2"),
            Map.entry("thrice", "x3"),
            Map.entry("triple", "x3"),
            Map.entry("quadruple", "x4")));
    return Map.copyOf(words);
  }

  private static Map<String, String> units() {
    String table =
        """
        km kilometer kilometers kilometre kilometres | m meter meters metre metres \
        | cm centimeter centimeters centimetre centimetres | mm millimeter millimeters millimetre \
        millimetres | mi mile miles | ft foot feet | in inch inches | yd yard yards \
        | kg kilogram kilograms kilo kilos | g gram grams | mg milligram milligrams \
        | lb lbs pound pounds | oz ounce ounces | l liter liters litre litres \
        | ml milliliter milliliters millilitre millilitres | gal gallon gallons \
        | c celsius centigrade | f fahrenheit | k kelvin | ms millisecond milliseconds \
        | s sec secs second seconds | min mins minute minutes | h hr hrs hour hours | day days \
        | week weeks | month months | year years yr yrs | decade decades | century centuries \
        | b byte bytes | kb kilobyte kilobytes | mb megabyte megabytes | gb gigabyte gigabytes \
        | tb terabyte terabytes | bit bits | usd dollar dollars buck bucks | eur euro euros \
        | gbp | jpy yen | mph | kmh kph | percent percentage | degree degrees \
        | kcal calorie calories | w watt watts | kw kilowatt kilowatts | kwh | v volt volts \
        | a amp amps ampere amperes | hz hertz | khz | mhz | ghz | mbps | gbps
        """;
    Map<String, String> units = new HashMap<>();
    for (String group : table.strip().split("\\|", -1)) {
      String[] spellings = group.strip().split(" +", -1);
      for (String s : spellings) {
        units.put(s.toLowerCase(Locale.ROOT), spellings[0]);
      }
    }
    return Map.copyOf(units);
  }
}
