/* The compiled kernel of the annotate fast path (spec/dataset.md#fast-path, #fast-path-key).
 *
 * For one query, the kernel reads JSON Lines records in canonical compact form and computes, for each line, a
 * *record key* that keeps exactly what the Python signer's policy signature keeps (fastpath.Signer), or more:
 *
 *   - the record's id, contentUrl, contentHash and creator, a declaration's id, a party's name and a source's
 *     version, location, raw and observed values are checked against the record schema (patterns, lengths,
 *     calendar dates, distinct creators) and left out;
 *   - party ids are numbered (the owner is party 0); what is kept is whether a declaration is the owner's and which
 *     declarations share a party;
 *   - each declaration's *body* (what is left of it as JSON: role, signal, rules, consent, unknown members) is looked
 *     up among the bodies the caller classified: its reduced class (what the signer keeps of it alone; 0 when
 *     nothing in it can matter, -1 when the signer does not sign it), exact class, and the uses its rules permit
 *     and prohibit. Rules the kernel can check in full (rules_member) and whose use cannot matter for the query are
 *     left out of the body;
 *   - a declaration's dates become whether it is in force at the date of use and, within a party with several
 *     declarations, the order of their order dates; a party's kept declarations become the class of what
 *     supersession leaves of them (a *group*, classified by the caller); declarations of a party that may
 *     contradict each other are kept whole (exact class, every date's rank);
 *   - tags become the sorted set of their classes (0: a tag that does not act, left out);
 *   - depictedPersons, when the query use has no biometric descendant, is checked and left out;
 *   - the license, checked as an IRI, goes last, then its length;
 *   - everything else (the context, type, members the kernel does not know) is kept byte for byte.
 *
 * Two lines with the same key therefore have the same decision. The caller answers the first line of each key
 * the Python way and stores the answer under the key; the kernel answers every later line with that key itself.
 * The kernel is strict: anything outside the common form (whitespace between tokens, escapes in names,
 * identifiers, dates or tags, numbers other than small non-negative integers, true/false/null, other date forms,
 * non-ASCII identifiers, an owner after the declarations, lines over 8192 bytes) stops it on that line, and the
 * caller takes the line the Python way. It never decides anything by itself: it only maps keys to answers the
 * caller computed.
 *
 * Kernel.run() processes a block of lines without holding the GIL, so several threads can each run a kernel of
 * their own in parallel. One kernel is used by one thread at a time (enforced).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 8192
#define MAX_DEPTH 32
#define MAX_DATES 48
#define MAX_PARTIES 48
#define MAX_TAGS 256
#define MAX_DECLS 32
#define MAX_CREATORS 16
#define MAX_KEYS_DEFAULT 65536
#define MAX_ARENA (32u << 20)
#define MAX_LEARNED 100000 /* tags, bodies, groups a kernel holds before it forgets them all */

/* The version of what this module and kernel.py say to each other (statuses, entry flags, methods): kernel.py uses
 * only a kernel of its own version, so a stale build is never half understood. */
#define KERNEL_PROTOCOL 2

/* What stopped the kernel on a line (the caller's constants mirror these). */
enum { ST_END = 0, ST_MISS = 1, ST_OTHER = 2, ST_TAG = 3, ST_PYTHON = 4, ST_BODY = 5, ST_GROUP = 6, ST_ISSUE = 7 };
/* The key of a record of which a declaration ends before it starts, before its license (module EMPTY_WINDOW_KEY) */
#define EMPTY_WINDOW_MARK '!'
/* An entry's flags (Kernel.keep): filter keeps the line; the line also gets a coded issue (the caller writes it) */
enum { ENTRY_KEEP = 1, ENTRY_ISSUE = 2 };

/* ------------------------------------------------------------------------------------------------------------ */
/* Growable byte buffer (plain malloc: used without the GIL) */

typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} Buf;

static int buf_reserve(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) { b->failed = 1; return 0; }
    b->data = d;
    b->cap = cap;
    return 1;
}

static inline void buf_put(Buf *b, const void *p, size_t n) {
    if (!buf_reserve(b, n)) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void buf_byte(Buf *b, char c) {
    if (!buf_reserve(b, 1)) return;
    b->data[b->len++] = c;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Hash map from byte strings to ints: open addressing, keys in an arena */

typedef struct {
    uint64_t hash;
    size_t off;   /* offset of the key in the arena */
    uint32_t len;
    int32_t value;
    int used;
} Slot;

typedef struct {
    Slot *slots;
    size_t mask, count;
    Buf arena;
} Map;

static inline uint64_t hash_mix(uint64_t h, uint64_t w) {
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 29);
}

static uint64_t hash_bytes(const unsigned char *p, size_t n) {
    /* Multiply-xorshift over 8-byte words, in four independent lanes for 32 bytes at a time (record keys are a few
       hundred bytes and are hashed once per line: one chain of multiplications would wait on itself), then the
       rest one word at a time and a final mix. Lookups compare the whole key, so the hash only spreads them. */
    const size_t total = n;
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)n;
    if (n >= 32) {
        uint64_t a = h, b = h ^ 0x243F6A8885A308D3ULL, c = h ^ 0x13198A2E03707344ULL, d = h ^ 0xA4093822299F31D0ULL;
        do {
            uint64_t w[4];
            memcpy(w, p, 32);
            a = hash_mix(a, w[0]);
            b = hash_mix(b, w[1]);
            c = hash_mix(c, w[2]);
            d = hash_mix(d, w[3]);
            p += 32;
            n -= 32;
        } while (n >= 32);
        h = hash_mix(hash_mix(hash_mix(a, b), c), d);
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = hash_mix(h, w);
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    if (total >= 8) {
        memcpy(&w, p + n - 8, 8); /* the last eight bytes, some hashed already: a fixed-size load, no call */
    } else {
        for (size_t i = 0; i < n; i++) w |= (uint64_t)p[i] << (8 * i);
    }
    h = hash_mix(h, w);
    h ^= h >> 32;
    h *= 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    return h;
}

static int map_init(Map *m, size_t slots) {
    m->slots = calloc(slots, sizeof(Slot));
    if (!m->slots) return 0;
    m->mask = slots - 1;
    m->count = 0;
    memset(&m->arena, 0, sizeof(Buf));
    return 1;
}

static void map_free(Map *m) {
    free(m->slots);
    free(m->arena.data);
    memset(m, 0, sizeof(Map));
}

static void map_clear(Map *m) {
    memset(m->slots, 0, (m->mask + 1) * sizeof(Slot));
    m->count = 0;
    m->arena.len = 0;
}

static int map_get(const Map *m, const unsigned char *k, size_t n, int32_t *out) {
    uint64_t h = hash_bytes(k, n);
    size_t i = (size_t)h & m->mask;
    for (;;) {
        const Slot *s = &m->slots[i];
        if (!s->used) return 0;
        if (s->hash == h && s->len == n && memcmp(m->arena.data + s->off, k, n) == 0) {
            *out = s->value;
            return 1;
        }
        i = (i + 1) & m->mask;
    }
}

static int map_grow(Map *m) {
    size_t n = (m->mask + 1) * 2;
    Slot *slots = calloc(n, sizeof(Slot));
    if (!slots) return 0;
    for (size_t j = 0; j <= m->mask; j++) {
        Slot *s = &m->slots[j];
        if (!s->used) continue;
        size_t i = (size_t)s->hash & (n - 1);
        while (slots[i].used) i = (i + 1) & (n - 1);
        slots[i] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->mask = n - 1;
    return 1;
}

/* Insert or replace; 0 when out of memory. */
static int map_put(Map *m, const unsigned char *k, size_t n, int32_t value) {
    if ((m->count + 1) * 2 > m->mask + 1 && !map_grow(m)) return 0;
    uint64_t h = hash_bytes(k, n);
    size_t i = (size_t)h & m->mask;
    for (;;) {
        Slot *s = &m->slots[i];
        if (!s->used) break;
        if (s->hash == h && s->len == n && memcmp(m->arena.data + s->off, k, n) == 0) {
            s->value = value;
            return 1;
        }
        i = (i + 1) & m->mask;
    }
    size_t off = m->arena.len;
    buf_put(&m->arena, k, n);
    if (m->arena.failed) return 0;
    Slot *s = &m->slots[i];
    s->hash = h;
    s->off = off;
    s->len = (uint32_t)n;
    s->value = value;
    s->used = 1;
    m->count++;
    return 1;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* The kernel object */

typedef struct {
    PyObject_HEAD
    char at[40];       /* the date of use as the Python signer's key text (naive UTC ISO) */
    size_t at_len;
    int biometric;     /* whether depictedPersons can matter for the query use */
    int filter;        /* 1: keep only lines whose entry says keep */
    int annotate_kept; /* filter: write the kept lines with their annotations */
    int release_gil;   /* run() lets other threads run Python meanwhile */
    size_t max_keys;
    Map keys;          /* record key -> entry index (-1: the caller takes such lines itself) */
    Map tags;          /* raw tag -> class (0: does not act) */
    Map bodies;        /* declaration body -> index into body_reduced and body_exact */
    int32_t *body_reduced, *body_exact;
    uint64_t *body_permits, *body_prohibits; /* the uses its rules permit and prohibit, one bit per use */
    size_t n_bodies, cap_bodies;
    Map groups;        /* a party's kept declarations (reduced classes and order ranks) -> its class */
    /* The vocabulary a rule may use (set_vocabulary): use -> 1 + its bit (and whether it can matter for the query),
     * purposes, actors, duties. Empty: the kernel keeps every rule as written. */
    Map uses, purposes, actors, duties;
    int has_vocabulary;
    Buf body;          /* the body of the declaration being read, or a party's group */
    /* entries: what a hit writes and counts */
    Py_ssize_t n_entries, cap_entries;
    char **suffix;
    size_t *suffix_len;
    char *keep;
    int64_t *count;
    int busy;
    Buf key;           /* the key of the last line */
    Buf out;
} Kernel;

/* ------------------------------------------------------------------------------------------------------------ */
/* Reading one line */

typedef struct {
    const unsigned char *p, *end;
    Kernel *k;
    Buf *key;
    /* party ids (pointers into the line), the owner's slot is 0 */
    const unsigned char *party[MAX_PARTIES];
    size_t party_len[MAX_PARTIES];
    int n_parties;
    int decls_seen;
    const unsigned char *name;    /* the name of the member being read (see object()) */
    size_t name_len;
    const unsigned char *license; /* the license IRI (NULL: none), put at the end of the key */
    size_t license_len;
    /* declaration dates: their key text, declaration and kind ('I'ssued, 'E'ffectiveFrom, 'U'ntil) */
    char date[MAX_DATES][20];
    int date_decl[MAX_DATES];
    char date_kind[MAX_DATES];
    int n_dates;
    int decl, n_decls;          /* the declaration being read, how many there are */
    int decl_party[MAX_DECLS];  /* its party number, or -1 when it has no party id */
    int32_t decl_reduced[MAX_DECLS], decl_exact[MAX_DECLS]; /* its body's classes */
    uint64_t decl_permits[MAX_DECLS], decl_prohibits[MAX_DECLS];
    uint64_t dropped_permits, dropped_prohibits; /* of the rules the declaration being read leaves out */
    int decl_dropped[MAX_DECLS];                 /* whether a declaration left rules out */
} Ctx;

static inline int lit(Ctx *c, const char *s, size_t n) {
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0) return 0;
    c->p += n;
    return 1;
}

/* The index of the lowest byte whose high bit is set in a non-zero word (loads are little-endian here: memcpy of
 * the bytes in order; on a big-endian machine the scan below still finds a flagged byte at or before the first). */
static inline int first_flagged(uint64_t flags) {
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_ctzll(flags) >> 3;
#else
    (void)flags;
    return 0; /* the byte-by-byte loop takes over from here */
#endif
}

static inline int hex_value(unsigned char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    ch |= 0x20;
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* A string at c->p (at its opening quote): sets [*s, *s + *n) to its text as written (escapes not undone) and
 * moves past it. Control characters, invalid UTF-8, invalid escapes and escaped surrogates stop the kernel.
 * *plain is 1 when the text is ASCII without escapes, so its bytes are its characters; *escaped tells whether it
 * has escapes (then its bytes are not its characters: identifiers, dates and tags with escapes stop the kernel). */
static int string_ex(Ctx *c, const unsigned char **s, size_t *n, int *plain, int *escaped) {
    const unsigned char *p = c->p, *end = c->end;
    if (p >= end || *p != '"') return ST_OTHER;
    p++;
    const unsigned char *start = p;
    int all_ascii = 1, esc = 0;
    while (p < end) {
#ifdef __SSE2__
        /* sixteen bytes at a time while none is a quote, a backslash, a control character or non-ASCII */
        {
            const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
            while (end - p >= 16) {
                __m128i v = _mm_loadu_si128((const __m128i *)p);
                /* signed compare: bytes >= 0x80 are negative, so "<= 0x1F" also flags every non-ASCII byte */
                __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                                               _mm_cmpgt_epi8(_mm_set1_epi8(0x20), v));
                int mask = _mm_movemask_epi8(special);
                if (mask) {
                    p += __builtin_ctz((unsigned)mask);
                    goto special; /* the eight-byte loop below would only find the same byte again */
                }
                p += 16;
            }
        }
#endif
        /* eight bytes at a time while none is a quote, a backslash, a control character or non-ASCII */
        while (end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
            uint64_t quote = v ^ (ones * '"'), slash = v ^ (ones * '\\');
            uint64_t special = (((quote - ones) & ~quote) | ((slash - ones) & ~slash) | ((v - ones * 0x20) & ~v) | v) &
                               highs;
            if (special) {
                /* the lowest flagged byte is the first special one (false flags only follow a true one) */
                p += first_flagged(special);
                break;
            }
            p += 8;
        }
#ifdef __SSE2__
    special:
#endif
        if (p >= end) break;
        unsigned char ch = *p;
        if (ch == '"') break;
        if (ch < 0x80) {
            if (ch < 0x20) return ST_OTHER;
            if (ch == '\\') {
                if (end - p < 2) return ST_OTHER;
                esc = 1;
                unsigned char e = p[1];
                if (e == 'u') {
                    if (end - p < 6) return ST_OTHER;
                    int v = 0;
                    for (int i = 2; i < 6; i++) {
                        int h = hex_value(p[i]);
                        if (h < 0) return ST_OTHER;
                        v = v * 16 + h;
                    }
                    if (v >= 0xD800 && v <= 0xDFFF) return ST_OTHER; /* surrogates: the Python path judges them */
                    p += 6;
                } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
                           e == 't') {
                    p += 2;
                } else {
                    return ST_OTHER;
                }
                continue;
            }
            p++;
            continue;
        }
        all_ascii = 0;
        /* UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF */
        if (ch >= 0xC2 && ch <= 0xDF) {
            if (end - p < 2 || (p[1] & 0xC0) != 0x80) return ST_OTHER;
            p += 2;
        } else if (ch >= 0xE0 && ch <= 0xEF) {
            if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return ST_OTHER;
            if (ch == 0xE0 && p[1] < 0xA0) return ST_OTHER;
            if (ch == 0xED && p[1] > 0x9F) return ST_OTHER;
            p += 3;
        } else if (ch >= 0xF0 && ch <= 0xF4) {
            if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
                return ST_OTHER;
            if (ch == 0xF0 && p[1] < 0x90) return ST_OTHER;
            if (ch == 0xF4 && p[1] > 0x8F) return ST_OTHER;
            p += 4;
        } else {
            return ST_OTHER;
        }
    }
    if (p >= end) return ST_OTHER;
    *s = start;
    *n = (size_t)(p - start);
    *plain = all_ascii && !esc;
    *escaped = esc;
    c->p = p + 1;
    return 0;
}

/* A string whose escapes, if any, do not matter to the caller (see string_ex). */
static inline int string(Ctx *c, const unsigned char **s, size_t *n, int *plain) {
    int escaped;
    return string_ex(c, s, n, plain, &escaped);
}

/* Characters of a string as written: never fewer than it has (an escape counts as several), so a text within a
 * limit by this count is within it. */
static size_t code_points(const unsigned char *s, size_t n) {
    size_t cps = 0;
    for (size_t i = 0; i < n; i++) cps += (s[i] & 0xC0) != 0x80;
    return cps;
}

/* A JSON value kept byte for byte: strings (as above), small non-negative integers, arrays and objects. */
static int skip_value(Ctx *c, int depth) {
    if (c->p >= c->end || depth > MAX_DEPTH) return ST_OTHER;
    unsigned char ch = *c->p;
    const unsigned char *s;
    size_t n;
    int ascii;
    if (ch == '"') return string(c, &s, &n, &ascii);
    if (ch >= '0' && ch <= '9') {
        const unsigned char *p = c->p;
        if (ch == '0') {
            p++;
        } else {
            while (p < c->end && *p >= '0' && *p <= '9') p++;
        }
        if (p - c->p > 18) return ST_OTHER;
        if (p < c->end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9'))) return ST_OTHER;
        c->p = p;
        return 0;
    }
    if (ch == '[') {
        c->p++;
        if (c->p < c->end && *c->p == ']') { c->p++; return 0; }
        for (;;) {
            if (skip_value(c, depth + 1)) return ST_OTHER;
            if (c->p >= c->end) return ST_OTHER;
            if (*c->p == ',') { c->p++; continue; }
            if (*c->p == ']') { c->p++; return 0; }
            return ST_OTHER;
        }
    }
    if (ch == '{') {
        c->p++;
        if (c->p < c->end && *c->p == '}') { c->p++; return 0; }
        for (;;) {
            int escaped;
            if (string_ex(c, &s, &n, &ascii, &escaped) || escaped || !lit(c, ":", 1)) return ST_OTHER;
            if (skip_value(c, depth + 1)) return ST_OTHER;
            if (c->p >= c->end) return ST_OTHER;
            if (*c->p == ',') { c->p++; continue; }
            if (*c->p == '}') { c->p++; return 0; }
            return ST_OTHER;
        }
    }
    return ST_OTHER;
}

/* -- patterns of the record schema (their printable-ASCII subsets; anything else stops the kernel) ------------- */

static inline int is_alpha(unsigned char ch) { return (ch | 0x20) >= 'a' && (ch | 0x20) <= 'z'; }
static inline int is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }

/* The characters of an IRI after its scheme, over ASCII: printable, but none of <>"{}|\^` */
static unsigned char iri_char[256];

/* The printable ASCII characters an IRI may not hold */
static const char iri_bad[] = "<>\"{}|\\^`";

static void init_tables(void) {
    for (int ch = 0x21; ch < 0x7F; ch++) iri_char[ch] = 1;
    for (const char *b = iri_bad; *b; b++) iri_char[(unsigned char)*b] = 0;
}

/* Whether every byte of [s, s + n) is printable ASCII (0x21 to 0x7E) and, when `iri`, none of <>"{}|\^` (the
 * characters of an IRI after its scheme, as iri_char). Sixteen bytes at a time: ids, URLs and hashes are most of a
 * line's bytes. */
static int printable_span(const unsigned char *s, size_t n, int iri) {
    size_t i = 0;
#ifdef __SSE2__
    const __m128i low = _mm_set1_epi8(0x20), high = _mm_set1_epi8(0x7F);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        /* signed compares: bytes >= 0x80 are negative, so they fail "> 0x20" */
        __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, low), _mm_cmplt_epi8(v, high));
        if (iri) {
            __m128i bad = _mm_setzero_si128();
            for (size_t b = 0; b < sizeof(iri_bad) - 1; b++) /* a constant count: unrolled, constants hoisted */
                bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8(iri_bad[b])));
            ok = _mm_andnot_si128(bad, ok);
        }
        if (_mm_movemask_epi8(ok) != 0xFFFF) return 0;
    }
#endif
    unsigned char all = 1;
    if (iri) {
        for (; i < n; i++) all &= iri_char[s[i]];
    } else {
        for (; i < n; i++) all &= s[i] > 0x20 && s[i] < 0x7F;
    }
    return all;
}

/* ^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"{}|\\^`]+$ over ASCII */
static int is_iri(const unsigned char *s, size_t n, int ascii) {
    if (!ascii || n < 3 || !is_alpha(s[0])) return 0;
    size_t i = 1;
    while (i < n && s[i] != ':') {
        unsigned char ch = s[i];
        if (!(is_alpha(ch) || is_digit(ch) || ch == '+' || ch == '.' || ch == '-')) return 0;
        i++;
    }
    if (i >= n - 1) return 0;
    return printable_span(s + i + 1, n - i - 1, 1);
}

/* ^[Hh][Tt][Tt][Pp][Ss]?://\S+$ over ASCII */
static int is_url(const unsigned char *s, size_t n, int ascii) {
    if (!ascii || n < 8 || (s[0] | 0x20) != 'h' || (s[1] | 0x20) != 't' || (s[2] | 0x20) != 't' ||
        (s[3] | 0x20) != 'p')
        return 0;
    size_t i = 4;
    if ((s[i] | 0x20) == 's') i++;
    if (n - i < 4 || memcmp(s + i, "://", 3) != 0) return 0;
    return printable_span(s + i + 3, n - i - 3, 0);
}

/* Whether every byte is a lowercase hexadecimal digit (without a branch per byte: hashes are random). */
static int lower_hex(const unsigned char *s, size_t n) {
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                      _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
        __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                                       _mm_cmplt_epi8(v, _mm_set1_epi8('f' + 1)));
        if (_mm_movemask_epi8(_mm_or_si128(digit, letter)) != 0xFFFF) return 0;
    }
#endif
    unsigned char all = 1;
    for (; i < n; i++) all &= is_digit(s[i]) | (s[i] >= 'a' && s[i] <= 'f');
    return all;
}

/* ^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$ */
static int is_hash(const unsigned char *s, size_t n) {
    size_t hex;
    if (n == 7 + 64 && memcmp(s, "sha256:", 7) == 0) hex = 64;
    else if (n == 7 + 96 && memcmp(s, "sha384:", 7) == 0) hex = 96;
    else if (n == 7 + 128 && memcmp(s, "sha512:", 7) == 0) hex = 128;
    else return 0;
    return lower_hex(s + 7, hex);
}

static int two(const unsigned char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/* "YYYY-MM-DD" or "YYYY-MM-DDThh:mm:ssZ", calendar-valid (year 1 to 9999, as Python's date), into the key text
 * "YYYY-MM-DDThh:mm:ss" (the Python signer's _datekey). */
static int date_key(const unsigned char *s, size_t n, char out[20]) {
    if (n != 10 && n != 20) return 0;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) { if (s[i] != '-') return 0; }
        else if (!is_digit(s[i])) return 0;
    }
    int year = two(s) * 100 + two(s + 2), month = two(s + 5), day = two(s + 8);
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || month < 1 || month > 12 || day < 1) return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > dim[month - 1] + (month == 2 && leap)) return 0;
    memcpy(out, s, 10);
    if (n == 10) {
        memcpy(out + 10, "T00:00:00", 9);
    } else {
        if (s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z') return 0;
        for (int i = 11; i < 19; i++)
            if (i != 13 && i != 16 && !is_digit(s[i])) return 0;
        if (two(s + 11) > 23 || two(s + 14) > 59 || two(s + 17) > 59) return 0;
        memcpy(out + 10, s + 10, 9);
    }
    out[19] = 0;
    return 1;
}

/* -- members ---------------------------------------------------------------------------------------------------- */

/* Known member names, matched on their exact bytes with the quotes and the colon. */
#define NAME(c, lit_)                                                                                        \
    ((c)->name_len == sizeof(lit_) - 1 && memcmp((c)->name, lit_, sizeof(lit_) - 1) == 0 &&                  \
     ((c)->p = (c)->name + sizeof(lit_) + 1, 1))

/* A declaration's date member: checked and remembered (what the key keeps of it is worked out at the end). */
static int date_member(Ctx *c, char kind) {
    const unsigned char *s;
    size_t n;
    int ascii;
    if (string(c, &s, &n, &ascii) || c->n_dates >= MAX_DATES) return ST_OTHER;
    if (!date_key(s, n, c->date[c->n_dates])) return ST_OTHER;
    c->date_decl[c->n_dates] = c->decl;
    c->date_kind[c->n_dates] = kind;
    c->n_dates++;
    return 0;
}

/* A string member checked and dropped: kind 'i' IRI, 'u' URL, 'h' hash, 'd' date, 't' text of at most max chars */
static int checked(Ctx *c, char kind, size_t max) {
    const unsigned char *s;
    size_t n;
    int ascii;
    char tmp[20];
    if (string(c, &s, &n, &ascii)) return ST_OTHER;
    switch (kind) {
    case 'i': return is_iri(s, n, ascii) && n <= max ? 0 : ST_OTHER;
    case 'u': return is_url(s, n, ascii) && n <= max ? 0 : ST_OTHER;
    case 'h': return is_hash(s, n) ? 0 : ST_OTHER;
    case 'd': return date_key(s, n, tmp) ? 0 : ST_OTHER;
    default: return (n <= max || code_points(s, n) <= max) ? 0 : ST_OTHER;
    }
}

/* A party id: checked as an account id and numbered (the owner is party 0, other ids in order of appearance). */
static int party_id(Ctx *c, int owner) {
    const unsigned char *s;
    size_t n;
    int ascii;
    if (string(c, &s, &n, &ascii) || !is_iri(s, n, ascii) || n > 2048) return ST_OTHER;
    if (owner) {
        c->party[0] = s;
        c->party_len[0] = n;
        return 0;
    }
    int found = -1;
    for (int i = 0; i < c->n_parties; i++)
        if (c->party[i] && c->party_len[i] == n && memcmp(c->party[i], s, n) == 0) { found = i; break; }
    if (found < 0) {
        if (c->n_parties >= MAX_PARTIES) return ST_OTHER;
        found = c->n_parties;
        c->party[found] = s;
        c->party_len[found] = n;
        c->n_parties++;
    }
    c->decl_party[c->decl] = found;
    return 0;
}

/* A member unknown to the kernel (or kept as it is): copied byte for byte into the key. */
static int verbatim_member(Ctx *c) {
    const unsigned char *from = c->p, *s;
    size_t n;
    int ascii, escaped;
    /* a name with escapes might spell a known member: the Python path judges it */
    if (string_ex(c, &s, &n, &ascii, &escaped) || escaped || !lit(c, ":", 1) || skip_value(c, 1)) return ST_OTHER;
    buf_put(c->key, from, (size_t)(c->p - from));
    return 0;
}

/* Walks the members of an object: `member` handles one member (known or not) and returns ST_* or 0. */
typedef int (*member_fn)(Ctx *, unsigned *seen);

/* An object, written to the key as JSON without the members its handler drops (so a declaration's part of the key
 * is itself a JSON object the Python path can read). */
static int object(Ctx *c, member_fn member) {
    unsigned seen = 0;
    int any = 0;
    if (!lit(c, "{", 1)) return ST_OTHER;
    buf_byte(c->key, '{');
    if (lit(c, "}", 1)) { buf_byte(c->key, '}'); return 0; }
    for (;;) {
        /* the member's name, for NAME (a name with an escaped quote is misread here, but then matches no known name
         * and verbatim_member reads it properly) */
        const unsigned char *close = c->p < c->end && *c->p == '"' ? memchr(c->p + 1, '"', (size_t)(c->end - c->p - 1))
                                                                  : NULL;
        if (close && close + 1 < c->end && close[1] == ':') {
            c->name = c->p + 1;
            c->name_len = (size_t)(close - c->p - 1);
        } else {
            c->name_len = (size_t)-1;
        }
        size_t before = c->key->len;
        if (any) buf_byte(c->key, ',');
        size_t mark = c->key->len;
        int st = member(c, &seen);
        if (st) return st;
        if (c->key->len == mark) c->key->len = before; /* a dropped member leaves no trace */
        else any = 1;
        if (lit(c, ",", 1)) continue;
        if (lit(c, "}", 1)) { buf_byte(c->key, '}'); return 0; }
        return ST_OTHER;
    }
}

#define ONCE(bit) do { if (*seen & (1u << (bit))) return ST_OTHER; *seen |= 1u << (bit); } while (0)
/* the member's name, as read, into the key */
#define KEEP_NAME(c, from) buf_put((c)->key, (from), (size_t)((c)->p - (from)))

static int party_member(Ctx *c, unsigned *seen) {
    if (NAME(c, "id")) { ONCE(0); return party_id(c, 0); }
    if (NAME(c, "name")) { ONCE(1); return checked(c, 't', 1024); }
    return verbatim_member(c);
}

static int source_member(Ctx *c, unsigned *seen) {
    if (NAME(c, "version")) { ONCE(0); return checked(c, 't', 256); }
    if (NAME(c, "location")) { ONCE(1); return checked(c, 't', 2048); }
    if (NAME(c, "raw")) { ONCE(2); return checked(c, 't', 65536); }
    if (NAME(c, "observed")) { ONCE(3); return checked(c, 'd', 0); }
    return verbatim_member(c);
}

/* -- rules ------------------------------------------------------------------------------------------------------ */

#define MAX_RULES 64
#define MAX_VALUES 16

/* What the kernel read of one rule it could check in full. */
typedef struct {
    const unsigned char *from, *to;      /* its text */
    int permit;
    int32_t use;                         /* 1 + the use's bit */
    int relevant;
    /* its scope: values of purpose, actor, jurisdiction (sorted, as pointers into the line), from, until */
    const unsigned char *values[3][MAX_VALUES];
    size_t value_len[3][MAX_VALUES];
    int n_values[3];
    char start[20], until[20];
    int has_start, has_until;
} Rule;

static int cmp_span(const unsigned char *a, size_t an, const unsigned char *b, size_t bn) {
    int r = memcmp(a, b, an < bn ? an : bn);
    return r ? r : (an < bn ? -1 : an > bn);
}

/* ^(EU|[A-Z]{2}(-[A-Z0-9]{1,3})?)$ */
static int is_jurisdiction(const unsigned char *s, size_t n) {
    if (n == 2) return (s[0] == 'E' && s[1] == 'U') || (s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z');
    if (n < 4 || n > 6 || s[2] != '-') return 0;
    if (!(s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z')) return 0;
    for (size_t i = 3; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || is_digit(s[i]))) return 0;
    return 1;
}

/* A non-empty array of distinct strings, each in `terms` (or, without terms, a jurisdiction), sorted into r. */
static int rule_values(Ctx *c, Rule *r, int dim, const Map *terms) {
    if (!lit(c, "[", 1) || lit(c, "]", 1)) return 0; /* minItems 1 */
    int n = 0;
    for (;;) {
        const unsigned char *s;
        size_t len;
        int plain;
        int32_t v;
        if (n >= MAX_VALUES || string(c, &s, &len, &plain) || !plain) return 0;
        if (terms ? !map_get(terms, s, len, &v) : !is_jurisdiction(s, len)) return 0;
        int at = n;
        while (at > 0 && cmp_span(r->values[dim][at - 1], r->value_len[dim][at - 1], s, len) > 0) {
            r->values[dim][at] = r->values[dim][at - 1];
            r->value_len[dim][at] = r->value_len[dim][at - 1];
            at--;
        }
        if (at > 0 && cmp_span(r->values[dim][at - 1], r->value_len[dim][at - 1], s, len) == 0) return 0; /* unique */
        r->values[dim][at] = s;
        r->value_len[dim][at] = len;
        n++;
        if (lit(c, ",", 1)) continue;
        if (lit(c, "]", 1)) break;
        return 0;
    }
    r->n_values[dim] = n;
    return 1;
}

/* One rule, read in full against the record schema and the vocabulary (the Python signer's strict check of a rule):
 * 1 when it is valid and every member is known; 0 when the kernel cannot vouch for it (then the declaration's rules
 * are kept as written, and the Python path judges them). */
static int read_rule(Ctx *c, Rule *r) {
    Kernel *k = c->k;
    unsigned seen = 0;
    memset(r->n_values, 0, sizeof r->n_values);
    r->has_start = r->has_until = 0;
    r->from = c->p;
    if (!lit(c, "{", 1) || lit(c, "}", 1)) return 0;
    for (;;) {
        const unsigned char *s;
        size_t n;
        int plain;
        int32_t v;
#define RULE_NAME(lit_, b) (lit(c, "\"" lit_ "\":", sizeof(lit_) + 2) && !(seen & (1u << (b))) && (seen |= 1u << (b), 1))
        if (RULE_NAME("effect", 0)) {
            if (lit(c, "\"permit\"", 8)) r->permit = 1;
            else if (lit(c, "\"prohibit\"", 10)) r->permit = 0;
            else return 0;
        } else if (RULE_NAME("use", 1)) {
            if (string(c, &s, &n, &plain) || !plain || !map_get(&k->uses, s, n, &v)) return 0;
            r->use = v & 0xFFFF;
            r->relevant = v >> 16;
        } else if (RULE_NAME("purpose", 2)) {
            if (!rule_values(c, r, 0, &k->purposes)) return 0;
        } else if (RULE_NAME("actor", 3)) {
            if (!rule_values(c, r, 1, &k->actors)) return 0;
        } else if (RULE_NAME("jurisdiction", 4)) {
            if (!rule_values(c, r, 2, NULL)) return 0;
        } else if (RULE_NAME("duties", 5)) {
            Rule scratch;
            if (!rule_values(c, &scratch, 0, &k->duties)) return 0;
        } else if (RULE_NAME("from", 6)) {
            if (string(c, &s, &n, &plain) || !date_key(s, n, r->start)) return 0;
            r->has_start = 1;
        } else if (RULE_NAME("until", 7)) {
            if (string(c, &s, &n, &plain) || !date_key(s, n, r->until)) return 0;
            r->has_until = 1;
        } else {
            return 0; /* an unknown or repeated member */
        }
#undef RULE_NAME
        if (lit(c, ",", 1)) continue;
        if (lit(c, "}", 1)) break;
        return 0;
    }
    if ((seen & 3) != 3) return 0; /* effect and use are required */
    if (r->has_start && r->has_until && strcmp(r->until, r->start) <= 0) return 0;
    r->to = c->p;
    return 1;
}

static int same_scope(const Rule *a, const Rule *b) {
    if (a->use != b->use || a->has_start != b->has_start || a->has_until != b->has_until) return 0;
    if (a->has_start && strcmp(a->start, b->start)) return 0;
    if (a->has_until && strcmp(a->until, b->until)) return 0;
    for (int d = 0; d < 3; d++) {
        if (a->n_values[d] != b->n_values[d]) return 0;
        for (int i = 0; i < a->n_values[d]; i++)
            if (cmp_span(a->values[d][i], a->value_len[d][i], b->values[d][i], b->value_len[d][i])) return 0;
    }
    return 1;
}

/* A declaration's rules. When the kernel can check every rule itself, the rules whose use cannot matter for the
 * query are left out of the body (their uses still count for contradictions between declarations, and two of them
 * that contradict each other stop the kernel: the Python path reports that record); otherwise the rules are kept as
 * written and the Python path checks them when it classifies the body. */
static int rules_member(Ctx *c, const unsigned char *name) {
    const unsigned char *value = c->p;
    Rule rules[MAX_RULES];
    int n = 0, sure = 1;
    if (!lit(c, "[", 1)) return ST_OTHER;
    if (!lit(c, "]", 1)) {
        for (;;) {
            if (n >= MAX_RULES || !read_rule(c, &rules[n])) {
                sure = 0;
                break;
            }
            n++;
            if (lit(c, ",", 1)) continue;
            if (lit(c, "]", 1)) break;
            sure = 0;
            break;
        }
    }
    if (!sure) { /* kept as written: read it again as a plain value */
        c->p = name;
        return verbatim_member(c);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (!rules[i].relevant && rules[i].permit != rules[j].permit && same_scope(&rules[i], &rules[j]))
                return ST_PYTHON; /* contradictory rules (spec/validation.md#req-no-contradiction) */
    buf_put(c->key, name, (size_t)(value - name));
    buf_byte(c->key, '[');
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (!rules[i].relevant) {
            uint64_t bit = (uint64_t)1 << (rules[i].use - 1);
            if (rules[i].permit) c->dropped_permits |= bit;
            else c->dropped_prohibits |= bit;
            c->decl_dropped[c->decl] = 1;
            continue;
        }
        if (kept++) buf_byte(c->key, ',');
        buf_put(c->key, rules[i].from, (size_t)(rules[i].to - rules[i].from));
    }
    buf_byte(c->key, ']');
    return 0;
}

static int declaration_member(Ctx *c, unsigned *seen) {
    const unsigned char *from = c->p;
    if (NAME(c, "id")) { ONCE(0); return checked(c, 'i', 8192); }
    if (NAME(c, "declaredBy")) { ONCE(1); KEEP_NAME(c, from); return object(c, party_member); }
    if (NAME(c, "issued")) { ONCE(2); return date_member(c, 'I'); }
    if (NAME(c, "effectiveFrom")) { ONCE(3); return date_member(c, 'E'); }
    if (NAME(c, "until")) { ONCE(4); return date_member(c, 'U'); }
    if (NAME(c, "source")) { ONCE(5); KEEP_NAME(c, from); return object(c, source_member); }
    if (c->k->has_vocabulary && NAME(c, "rules")) {
        ONCE(6);
        return rules_member(c, from);
    }
    return verbatim_member(c);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static int tags_member(Ctx *c) {
    int classes[MAX_TAGS];
    int n_classes = 0, items = 0;
    if (!lit(c, "[", 1)) return ST_OTHER;
    if (!lit(c, "]", 1)) {
        for (;;) {
            const unsigned char *s;
            size_t n;
            int plain, escaped;
            int32_t cls;
            if (string_ex(c, &s, &n, &plain, &escaped) || escaped || ++items > MAX_TAGS) return ST_OTHER;
            if (n > 1024 && code_points(s, n) > 1024) return ST_OTHER;
            if (!map_get(&c->k->tags, s, n, &cls)) return ST_TAG;
            if (cls) classes[n_classes++] = cls;
            if (lit(c, ",", 1)) continue;
            if (lit(c, "]", 1)) break;
            return ST_OTHER;
        }
    }
    if (!n_classes) return 0; /* no tag acts: as if there were none */
    qsort(classes, (size_t)n_classes, sizeof(int), cmp_int);
    int distinct = 0;
    for (int i = 0; i < n_classes; i++)
        if (!i || classes[i] != classes[i - 1]) classes[distinct++] = classes[i];
    /* a count, then two bytes per class: every token has a length known from its first bytes, so a key reads
     * back one way only */
    buf_byte(c->key, 'T');
    buf_byte(c->key, (char)(distinct & 0x7F));
    buf_byte(c->key, (char)((distinct >> 7) & 0x7F));
    for (int i = 0; i < distinct; i++) {
        buf_byte(c->key, (char)(classes[i] & 0x7F));
        buf_byte(c->key, (char)((classes[i] >> 7) & 0x7F));
    }
    return 0;
}

static int creators_member(Ctx *c) {
    const unsigned char *s[MAX_CREATORS];
    size_t n[MAX_CREATORS];
    int count = 0, ascii;
    if (!lit(c, "[", 1) || lit(c, "]", 1)) return ST_OTHER; /* minItems 1 */
    for (;;) {
        if (count >= MAX_CREATORS || string(c, &s[count], &n[count], &ascii)) return ST_OTHER;
        if (!is_iri(s[count], n[count], ascii) || n[count] > 2048) return ST_OTHER;
        for (int i = 0; i < count; i++)
            if (n[i] == n[count] && memcmp(s[i], s[count], n[i]) == 0) return ST_OTHER; /* uniqueItems */
        count++;
        if (lit(c, ",", 1)) continue;
        if (lit(c, "]", 1)) return 0;
        return ST_OTHER;
    }
}

/* depictedPersons when it cannot matter: an integer >= 0 (at most 9 digits) or "unknown", checked and dropped */
static int depicted_member(Ctx *c) {
    if (lit(c, "\"unknown\"", 9)) return 0;
    const unsigned char *p = c->p;
    if (p >= c->end || !is_digit(*p)) return ST_OTHER;
    if (*p == '0') p++;
    else while (p < c->end && is_digit(*p)) p++;
    if (p - c->p > 9 || (p < c->end && (*p == '.' || *p == 'e' || *p == 'E' || is_digit(*p)))) return ST_OTHER;
    c->p = p;
    return 0;
}

/* One declaration: its body (what is left of it as JSON: role, source signal, rules, consent and members the
 * kernel does not know) goes to k->body and is looked up among the bodies the caller classified. */
static int declaration(Ctx *c, int i) {
    Kernel *k = c->k;
    Buf *record_key = c->key;
    c->decl = i;
    c->n_decls = i + 1;
    c->decl_party[i] = -1;
    c->decl_dropped[i] = 0;
    c->dropped_permits = c->dropped_prohibits = 0;
    k->body.len = 0;
    k->body.failed = 0;
    c->key = &k->body;
    int st = object(c, declaration_member);
    c->key = record_key;
    if (st) return st;
    if (k->body.failed) return ST_OTHER;
    int32_t idx;
    if (!map_get(&k->bodies, (const unsigned char *)k->body.data, k->body.len, &idx)) return ST_BODY;
    c->decl_reduced[i] = k->body_reduced[idx];
    c->decl_exact[i] = k->body_exact[idx];
    c->decl_permits[i] = k->body_permits[idx] | c->dropped_permits;
    c->decl_prohibits[i] = k->body_prohibits[idx] | c->dropped_prohibits;
    if (c->decl_reduced[i] < 0) return ST_PYTHON; /* a body the Python path does not sign */
    return 0;
}

static int record_member(Ctx *c, unsigned *seen) {
    const unsigned char *from = c->p;
    if (NAME(c, "id")) { ONCE(0); return checked(c, 'i', 8192); }
    if (NAME(c, "contentUrl")) { ONCE(1); return checked(c, 'u', 8192); }
    if (NAME(c, "contentHash")) { ONCE(2); return checked(c, 'h', 0); }
    if (NAME(c, "creator")) { ONCE(3); return creators_member(c); }
    if (NAME(c, "owner")) {
        ONCE(4);
        if (c->decls_seen) return ST_OTHER; /* the owner is party 0: it must come first */
        return party_id(c, 1); /* what matters of it is which declarations are the owner's */
    }
    if (NAME(c, "tags")) { ONCE(5); return tags_member(c); }
    if (NAME(c, "license")) {
        ONCE(8);
        int plain;
        if (string(c, &c->license, &c->license_len, &plain) || !is_iri(c->license, c->license_len, plain) ||
            c->license_len > 8192)
            return ST_OTHER;
        return 0;
    }
    if (NAME(c, "depictedPersons")) {
        ONCE(6);
        if (c->k->biometric) {
            c->p = from;
            return verbatim_member(c);
        }
        return depicted_member(c);
    }
    if (NAME(c, "declarations")) {
        ONCE(7);
        c->decls_seen = 1;
        /* what matters of the declarations goes at the end of the key (declarations_key) */
        if (!lit(c, "[", 1)) return ST_OTHER;
        if (lit(c, "]", 1)) return 0;
        for (int i = 0;; i++) {
            if (i >= MAX_DECLS) return ST_OTHER;
            int st = declaration(c, i);
            if (st) return st;
            if (lit(c, ",", 1)) continue;
            if (lit(c, "]", 1)) return 0;
            return ST_OTHER;
        }
    }
    return verbatim_member(c);
}

static int cmp_text(const char *a, size_t an, const char *b, size_t bn) {
    int r = memcmp(a, b, an < bn ? an : bn);
    if (r) return r;
    return an < bn ? -1 : an > bn;
}

typedef struct {
    unsigned char bytes[8 + 2 * MAX_DATES];
    size_t len;
} Part;

static int cmp_part(const void *a, const void *b) {
    const Part *x = a, *y = b;
    return cmp_text((const char *)x->bytes, x->len, (const char *)y->bytes, y->len);
}

static void put32(unsigned char *p, int32_t v) {
    uint32_t u = (uint32_t)v;
    p[0] = (unsigned char)u;
    p[1] = (unsigned char)(u >> 8);
    p[2] = (unsigned char)(u >> 16);
    p[3] = (unsigned char)(u >> 24);
}

typedef struct {
    int32_t cls;
    unsigned char rank;
} Member;

static int cmp_member(const void *a, const void *b) {
    const Member *x = a, *y = b;
    if (x->cls != y->cls) return x->cls < y->cls ? -1 : 1;
    return (int)x->rank - (int)y->rank;
}

/* The class of a party's kept declarations (two or more, none contradicting another): looked up by their reduced
 * classes with the rank of each one's order date among them (255: none), sorted; ST_GROUP when the caller has not
 * classified that group yet (it is left in k->body). */
static int group_class(Kernel *k, Ctx *c, int party, const int *in_force, const char **order, int32_t *cls) {
    Member m[MAX_DECLS];
    int n = 0;
    for (int d = 0; d < c->n_decls; d++) {
        if (c->decl_party[d] != party || !in_force[d] || c->decl_reduced[d] == 0) continue;
        int rank = 255;
        if (order[d]) {
            rank = 0;
            for (int e = 0; e < c->n_decls; e++)
                if (c->decl_party[e] == party && in_force[e] && c->decl_reduced[e] != 0 && order[e] &&
                    strcmp(order[e], order[d]) < 0)
                    rank++;
        }
        m[n].cls = c->decl_reduced[d];
        m[n].rank = (unsigned char)rank;
        n++;
    }
    qsort(m, (size_t)n, sizeof(Member), cmp_member);
    Buf *g = &k->body;
    g->len = 0;
    g->failed = 0;
    for (int i = 0; i < n; i++) {
        unsigned char b[5];
        put32(b, m[i].cls);
        b[4] = m[i].rank;
        buf_put(g, b, 5);
    }
    if (g->failed) return ST_OTHER;
    if (!map_get(&k->groups, (const unsigned char *)g->data, g->len, cls)) return ST_GROUP;
    if (*cls < 0) return ST_PYTHON;
    return 0;
}

/* The declarations' part of the key, appended to it: what the Python signer keeps of them
 * (spec/dataset.md#req-policy-signature), as a sorted list (the decision does not depend on their order,
 * spec/resolution.md#req-resolve-order-independence). Nothing of a declaration that is not in force at the date of
 * use, or whose body's class says nothing in it can matter, is kept, except as said below.
 *
 * - A declaration of a party with no other declaration in the record, or the only kept one of a party whose
 *   declarations do not contradict each other: (owner or not, its body's reduced class).
 * - Declarations of a party with several, when none permits a use another prohibits with the same order date (or
 *   without one): (owner or not, the class of its kept ones as a group, group_class): what supersession leaves
 *   of them depends only on their reduced classes and the order of their order dates
 *   (spec/resolution.md#alg-supersede), and the caller works it out once per group.
 * - Otherwise (they may contradict each other, spec/validation.md#req-no-contradiction, which compares whole
 *   scopes and windows): every declaration of that party, kept or not, as (owner or not, party number, its exact
 *   class, in force or not, each date's kind and rank among the party's dates).
 *
 * 0 when a declaration ends before it starts (the Python path reports that record). */
static int declarations_key(Kernel *k, Ctx *c) {
    int decls = c->n_decls;
    Part parts[MAX_DECLS];
    int n_parts = 0;
    int group[MAX_PARTIES], shared[MAX_PARTIES], exact[MAX_PARTIES], kept_of[MAX_PARTIES], done[MAX_PARTIES];
    int in_force[MAX_DECLS];
    const char *order[MAX_DECLS];
    int n_groups = 0;
    for (int p = 0; p < MAX_PARTIES; p++) group[p] = shared[p] = exact[p] = kept_of[p] = done[p] = 0;
    for (int d = 0; d < decls; d++) {
        const char *start = NULL, *until = NULL, *issued = NULL, *from = NULL;
        for (int i = 0; i < c->n_dates; i++) {
            if (c->date_decl[i] != d) continue;
            if (c->date_kind[i] == 'U') until = c->date[i];
            else if (c->date_kind[i] == 'I') issued = c->date[i];
            else from = c->date[i];
        }
        start = issued && from ? (strcmp(issued, from) > 0 ? issued : from) : issued ? issued : from;
        if (start && until && strcmp(until, start) <= 0) return 0;
        in_force[d] = (!start || cmp_text(start, 19, k->at, k->at_len) <= 0) &&
                      (!until || cmp_text(k->at, k->at_len, until, 19) < 0);
        order[d] = issued ? issued : from;
        int party = c->decl_party[d];
        if (party < 0) continue;
        shared[party]++;
        kept_of[party] += in_force[d] && c->decl_reduced[d] != 0;
        /* Two declarations of one party contradict each other only when one permits a use the other prohibits and
         * their order dates are equal or one has none (spec/validation.md#req-no-contradiction) */
        for (int e = 0; e < d; e++)
            if (c->decl_party[e] == party &&
                ((c->decl_permits[e] & c->decl_prohibits[d]) || (c->decl_prohibits[e] & c->decl_permits[d])) &&
                (!order[e] || !order[d] || strcmp(order[e], order[d]) == 0))
                exact[party] = 1;
    }
    for (int d = 0; d < decls; d++) {
        int party = c->decl_party[d];
        int owner = party == 0;
        int kept = in_force[d] && c->decl_reduced[d] != 0;
        Part *part = &parts[n_parts];
        unsigned char *b = part->bytes;
        if (party < 0 || shared[party] < 2 || (!exact[party] && kept_of[party] < 2)) {
            /* alone, or the only one of its party that can matter (and none contradicts another) */
            if (!kept) continue;
            b[0] = 1;
            b[1] = (unsigned char)owner;
            put32(b + 2, c->decl_reduced[d]);
            part->len = 6;
        } else if (!exact[party]) {
            /* the party's kept declarations as one group: its class is what supersession leaves of them */
            if (!kept || done[party]) continue;
            done[party] = 1;
            int32_t cls;
            int st = group_class(k, c, party, in_force, order, &cls);
            if (st) return -st;
            b[0] = 1;
            b[1] = (unsigned char)owner;
            put32(b + 2, cls);
            part->len = 6;
        } else {
            /* declarations that may contradict each other are compared whole: rules left out of a body would be
             * missing from that comparison */
            for (int e = 0; e < decls; e++)
                if (c->decl_party[e] == party && c->decl_dropped[e]) return -ST_OTHER;
            if (!group[party]) group[party] = ++n_groups;
            b[0] = 3;
            b[1] = (unsigned char)owner;
            b[2] = (unsigned char)group[party];
            put32(b + 3, c->decl_exact[d]);
            b[7] = (unsigned char)in_force[d];
            size_t len = 8;
            for (int i = 0; i < c->n_dates; i++) {
                if (c->date_decl[i] != d) continue;
                int rank = 0;
                for (int j = 0; j < c->n_dates; j++)
                    if (c->decl_party[c->date_decl[j]] == party && strcmp(c->date[j], c->date[i]) < 0) rank++;
                b[len++] = (unsigned char)c->date_kind[i];
                b[len++] = (unsigned char)rank;
            }
            part->len = len;
        }
        n_parts++;
    }
    if (!n_parts) return 1; /* none can matter: as if there were none */
    qsort(parts, (size_t)n_parts, sizeof(Part), cmp_part);
    buf_byte(c->key, '|');
    for (int i = 0; i < n_parts; i++) {
        buf_byte(c->key, (char)parts[i].len);
        buf_put(c->key, parts[i].bytes, parts[i].len);
    }
    return 1;
}

/* The key of one line into k->key; 0 or the reason it stopped. The line is the `avail` bytes at `line`; or, with
 * `to_newline`, it ends at the first newline there; its length goes to *line_len. The kernel finds that end by reading
 * the line, as a line it answers is one JSON object and a newline in one stops it (it accepts no whitespace between
 * tokens, nor control characters in strings), so run() and scan() need not look for each newline first. */
static int line_key(Kernel *k, const unsigned char *line, size_t avail, int to_newline, size_t *line_len) {
    Ctx c;
    size_t n = avail;
    if (to_newline) {
        if (n > MAX_LINE) n = MAX_LINE; /* a longer line cannot end inside: reading stops at the bound */
    } else if (n > MAX_LINE || n < 2 || line[n - 1] != '}') {
        return ST_OTHER;
    }
    c.p = line;
    c.end = line + n;
    c.k = k;
    c.key = &k->key;
    c.n_parties = 1;
    c.party[0] = NULL;
    c.party_len[0] = 0;
    c.decls_seen = 0;
    c.license = NULL;
    c.license_len = 0;
    c.n_dates = 0;
    c.decl = c.n_decls = 0;
    k->key.len = 0;
    k->key.failed = 0;
    if (n < 2 || line[0] != '{') return ST_OTHER;
    int st = object(&c, record_member);
    if (st) return st;
    if (k->key.failed) return ST_OTHER;
    /* the object ends the line: at the end of what is there, or (to_newline) before a newline */
    if (c.p != line + avail && !(to_newline && c.p < line + avail && *c.p == '\n')) return ST_OTHER;
    *line_len = (size_t)(c.p - line);
    if (c.n_decls) {
        int got = declarations_key(k, &c);
        if (got == 0) {
            /* A declaration ends before it starts, and the rest of the line passed every check: the Python signer
             * finds the same (its first stop, fastpath.EMPTY_WINDOW) and the answer depends on the license alone
             * (invalid, unspecified): the key is that mark and the license. Its entry carries ENTRY_ISSUE. */
            k->key.len = 0;
            buf_byte(&k->key, EMPTY_WINDOW_MARK);
        } else if (got < 0) {
            return -got;
        }
    }
    /* The license last, then its length (0xFFFFFFFF: none): the caller can take it off the key, and answer a key
     * that differs from one it knows only by the license without the Python path when the license cannot change
     * that answer (spec/resolution.md#alg-license). */
    unsigned char len[4];
    if (c.license) buf_put(&k->key, c.license, c.license_len);
    put32(len, c.license ? (int32_t)c.license_len : -1);
    buf_put(&k->key, len, 4);
    if (k->key.failed) return ST_OTHER;
    return 0;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Python methods */

static int Kernel_init(Kernel *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"at", "biometric", "filter", "annotate_kept", "max_keys", "release_gil", NULL};
    const char *at;
    Py_ssize_t at_len;
    int biometric = 1, filter = 0, annotate_kept = 0, release_gil = 0;
    Py_ssize_t max_keys = MAX_KEYS_DEFAULT;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "s#|pppnp", kwlist, &at, &at_len, &biometric, &filter,
                                     &annotate_kept, &max_keys, &release_gil))
        return -1;
    if (at_len < 19 || at_len >= (Py_ssize_t)sizeof(self->at)) {
        PyErr_SetString(PyExc_ValueError, "at: the date of use as YYYY-MM-DDThh:mm:ss[.ffffff]");
        return -1;
    }
    if (max_keys < 1) {
        PyErr_SetString(PyExc_ValueError, "max_keys must be positive");
        return -1;
    }
    memcpy(self->at, at, (size_t)at_len);
    self->at_len = (size_t)at_len;
    self->biometric = biometric;
    self->filter = filter;
    self->annotate_kept = annotate_kept;
    self->release_gil = release_gil;
    self->max_keys = (size_t)max_keys;
    if (!self->keys.slots && !map_init(&self->keys, 1024)) { PyErr_NoMemory(); return -1; }
    if (!self->tags.slots && !map_init(&self->tags, 256)) { PyErr_NoMemory(); return -1; }
    if (!self->bodies.slots && !map_init(&self->bodies, 256)) { PyErr_NoMemory(); return -1; }
    if (!self->groups.slots && !map_init(&self->groups, 256)) { PyErr_NoMemory(); return -1; }
    Map *vocab[] = {&self->uses, &self->purposes, &self->actors, &self->duties};
    for (int i = 0; i < 4; i++)
        if (!vocab[i]->slots && !map_init(vocab[i], 64)) { PyErr_NoMemory(); return -1; }
    return 0;
}

static void Kernel_dealloc(Kernel *self) {
    map_free(&self->keys);
    map_free(&self->tags);
    map_free(&self->bodies);
    map_free(&self->groups);
    map_free(&self->uses);
    map_free(&self->purposes);
    map_free(&self->actors);
    map_free(&self->duties);
    free(self->body_reduced);
    free(self->body_exact);
    free(self->body_permits);
    free(self->body_prohibits);
    free(self->body.data);
    for (Py_ssize_t i = 0; i < self->n_entries; i++) free(self->suffix[i]);
    free(self->suffix);
    free(self->suffix_len);
    free(self->keep);
    free(self->count);
    free(self->key.data);
    free(self->out.data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int check_idle(Kernel *self) {
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "a kernel runs in one thread at a time");
        return 0;
    }
    return 1;
}

/* Map a buffer to a value in a map that is emptied first when it holds `limit` keys or MAX_ARENA bytes of keys
 * (memory stays flat; the caller teaches the kernel again what it forgot). Releases the buffer. */
static PyObject *put_bounded(Map *m, size_t limit, Py_buffer *key, int32_t value) {
    if (m->count >= limit || m->arena.len > MAX_ARENA) map_clear(m);
    int ok = map_put(m, key->buf, (size_t)key->len, value);
    PyBuffer_Release(key);
    if (!ok) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *Kernel_key(Kernel *self, PyObject *arg) {
    Py_buffer line;
    if (!check_idle(self) || PyObject_GetBuffer(arg, &line, PyBUF_SIMPLE) < 0) return NULL;
    size_t n;
    int st = line_key(self, line.buf, (size_t)line.len, 0, &n);
    PyBuffer_Release(&line);
    if (self->key.failed) return PyErr_NoMemory();
    if (st == ST_BODY || st == ST_GROUP)
        return Py_BuildValue("(iy#)", st, self->body.data ? self->body.data : "", (Py_ssize_t)self->body.len);
    if (st) return PyLong_FromLong(st);
    return PyBytes_FromStringAndSize(self->key.data, (Py_ssize_t)self->key.len);
}

static PyObject *Kernel_set_tag(Kernel *self, PyObject *args) {
    Py_buffer raw;
    int cls;
    if (!check_idle(self) || !PyArg_ParseTuple(args, "y*i", &raw, &cls)) return NULL;
    if (cls < 0 || cls > 16383) {
        PyBuffer_Release(&raw);
        PyErr_SetString(PyExc_ValueError, "tag class out of range 0..16383");
        return NULL;
    }
    return put_bounded(&self->tags, MAX_LEARNED, &raw, cls);
}

static PyObject *Kernel_set_body(Kernel *self, PyObject *args) {
    Py_buffer body;
    long reduced, exact;
    unsigned long long permits, prohibits;
    if (!check_idle(self) || !PyArg_ParseTuple(args, "y*llKK", &body, &reduced, &exact, &permits, &prohibits))
        return NULL;
    if (reduced < -1 || reduced > INT32_MAX || exact < 0 || exact > INT32_MAX) {
        PyBuffer_Release(&body);
        PyErr_SetString(PyExc_ValueError, "body classes: reduced -1..2**31-1 (-1: not signed), exact 0..2**31-1");
        return NULL;
    }
    if (self->bodies.count >= MAX_LEARNED || self->bodies.arena.len > MAX_ARENA) {
        map_clear(&self->bodies);
        self->n_bodies = 0;
    }
    if (self->n_bodies == self->cap_bodies) {
        size_t cap = self->cap_bodies ? self->cap_bodies * 2 : 256;
        int32_t *r = realloc(self->body_reduced, cap * sizeof(int32_t));
        if (r) self->body_reduced = r;
        int32_t *e = realloc(self->body_exact, cap * sizeof(int32_t));
        if (e) self->body_exact = e;
        uint64_t *pm = realloc(self->body_permits, cap * sizeof(uint64_t));
        if (pm) self->body_permits = pm;
        uint64_t *ph = realloc(self->body_prohibits, cap * sizeof(uint64_t));
        if (ph) self->body_prohibits = ph;
        if (!r || !e || !pm || !ph) { PyBuffer_Release(&body); return PyErr_NoMemory(); }
        self->cap_bodies = cap;
    }
    int32_t idx = (int32_t)self->n_bodies;
    int ok = map_put(&self->bodies, body.buf, (size_t)body.len, idx);
    PyBuffer_Release(&body);
    if (!ok) return PyErr_NoMemory();
    self->body_reduced[idx] = (int32_t)reduced;
    self->body_exact[idx] = (int32_t)exact;
    self->body_permits[idx] = (uint64_t)permits;
    self->body_prohibits[idx] = (uint64_t)prohibits;
    self->n_bodies++;
    Py_RETURN_NONE;
}

/* Fill a map from a sequence of str: each maps to value(i). */
static int fill_terms(Map *m, PyObject *seq, int32_t (*value)(Py_ssize_t, PyObject *), PyObject *extra) {
    PyObject *fast = PySequence_Fast(seq, "a sequence of terms");
    if (!fast) return 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        Py_ssize_t len;
        const char *text = PyUnicode_Check(item) ? PyUnicode_AsUTF8AndSize(item, &len) : NULL;
        if (!text) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "terms are str");
            Py_DECREF(fast);
            return 0;
        }
        if (!map_put(m, (const unsigned char *)text, (size_t)len, value(i, extra))) {
            Py_DECREF(fast);
            PyErr_NoMemory();
            return 0;
        }
    }
    Py_DECREF(fast);
    return 1;
}

static int32_t term_value(Py_ssize_t i, PyObject *extra) { (void)i; (void)extra; return 1; }

/* a use: 1 + its bit, and 1 << 16 when it can matter for the query (extra: the set of such uses) */
static int32_t use_value(Py_ssize_t i, PyObject *extra) { (void)extra; return (int32_t)(i + 1); }

/* set_vocabulary(uses, relevant, purposes, actors, duties): the terms a rule may use (uses in bit order, at most
 * 63) and the uses that can matter for the query. From then on the kernel checks rules itself and leaves the rules
 * that cannot matter out of declaration bodies. */
static PyObject *Kernel_set_vocabulary(Kernel *self, PyObject *args) {
    PyObject *uses, *relevant, *purposes, *actors, *duties;
    if (!check_idle(self) || !PyArg_ParseTuple(args, "OOOOO", &uses, &relevant, &purposes, &actors, &duties))
        return NULL;
    Py_ssize_t n = PySequence_Size(uses);
    if (n < 0) return NULL;
    if (n > 63) {
        PyErr_SetString(PyExc_ValueError, "at most 63 uses (one bit each)");
        return NULL;
    }
    map_clear(&self->uses);
    map_clear(&self->purposes);
    map_clear(&self->actors);
    map_clear(&self->duties);
    self->has_vocabulary = 0;
    if (!fill_terms(&self->uses, uses, use_value, NULL) || !fill_terms(&self->purposes, purposes, term_value, NULL) ||
        !fill_terms(&self->actors, actors, term_value, NULL) || !fill_terms(&self->duties, duties, term_value, NULL))
        return NULL;
    /* mark the relevant uses */
    PyObject *it = PyObject_GetIter(relevant);
    if (!it) return NULL;
    PyObject *item;
    while ((item = PyIter_Next(it))) {
        Py_ssize_t len;
        const char *text = PyUnicode_Check(item) ? PyUnicode_AsUTF8AndSize(item, &len) : NULL;
        int32_t v;
        if (!text || !map_get(&self->uses, (const unsigned char *)text, (size_t)len, &v)) {
            Py_DECREF(item);
            Py_DECREF(it);
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a relevant use that is not among the uses");
            return NULL;
        }
        map_put(&self->uses, (const unsigned char *)text, (size_t)len, v | (1 << 16));
        Py_DECREF(item);
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) return NULL;
    self->has_vocabulary = 1;
    Py_RETURN_NONE;
}

static PyObject *Kernel_set_group(Kernel *self, PyObject *args) {
    Py_buffer group;
    long cls;
    if (!check_idle(self) || !PyArg_ParseTuple(args, "y*l", &group, &cls)) return NULL;
    if (cls < -1 || cls > INT32_MAX) {
        PyBuffer_Release(&group);
        PyErr_SetString(PyExc_ValueError, "group class: -1..2**31-1 (-1: the Python path)");
        return NULL;
    }
    return put_bounded(&self->groups, MAX_LEARNED, &group, (int32_t)cls);
}

static PyObject *Kernel_set_entry(Kernel *self, PyObject *args) {
    Py_ssize_t idx;
    Py_buffer suffix;
    int keep, issue = 0;
    if (!check_idle(self) || !PyArg_ParseTuple(args, "ny*p|p", &idx, &suffix, &keep, &issue)) return NULL;
    if (idx != self->n_entries) {
        PyBuffer_Release(&suffix);
        PyErr_SetString(PyExc_ValueError, "entries are added in order");
        return NULL;
    }
    if (suffix.len < 1 || ((const char *)suffix.buf)[suffix.len - 1] != '}') {
        PyBuffer_Release(&suffix);
        PyErr_SetString(PyExc_ValueError, "a suffix ends the JSON object");
        return NULL;
    }
    if (self->n_entries == self->cap_entries) {
        Py_ssize_t cap = self->cap_entries ? self->cap_entries * 2 : 64;
        char **s = realloc(self->suffix, (size_t)cap * sizeof(char *));
        if (s) self->suffix = s;
        size_t *sl = realloc(self->suffix_len, (size_t)cap * sizeof(size_t));
        if (sl) self->suffix_len = sl;
        char *kp = realloc(self->keep, (size_t)cap);
        if (kp) self->keep = kp;
        int64_t *ct = realloc(self->count, (size_t)cap * sizeof(int64_t));
        if (ct) self->count = ct;
        if (!s || !sl || !kp || !ct) { PyBuffer_Release(&suffix); return PyErr_NoMemory(); }
        self->cap_entries = cap;
    }
    char *copy = malloc((size_t)suffix.len);
    if (!copy) { PyBuffer_Release(&suffix); return PyErr_NoMemory(); }
    memcpy(copy, suffix.buf, (size_t)suffix.len);
    self->suffix[idx] = copy;
    self->suffix_len[idx] = (size_t)suffix.len;
    self->keep[idx] = (char)((keep ? ENTRY_KEEP : 0) | (issue ? ENTRY_ISSUE : 0));
    self->count[idx] = 0;
    self->n_entries++;
    PyBuffer_Release(&suffix);
    Py_RETURN_NONE;
}

static PyObject *Kernel_add(Kernel *self, PyObject *args) {
    Py_buffer key;
    Py_ssize_t idx;
    if (!check_idle(self) || !PyArg_ParseTuple(args, "y*n", &key, &idx)) return NULL;
    if (idx < -1 || idx >= self->n_entries) {
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_ValueError, "unknown entry");
        return NULL;
    }
    return put_bounded(&self->keys, self->max_keys, &key, (int32_t)idx);
}

/* The (block, start) arguments of run() and probe(); 0 with an exception set when they are not usable. */
static int block_args(Kernel *self, PyObject *args, Py_buffer *block, Py_ssize_t *start) {
    if (!check_idle(self) || !PyArg_ParseTuple(args, "y*n", block, start)) return 0;
    if (*start < 0 || *start > block->len) {
        PyBuffer_Release(block);
        PyErr_SetString(PyExc_ValueError, "start outside the block");
        return 0;
    }
    return 1;
}

/* One answered line's output: the line without its closing brace, then the answer's fields (or, with filter, the
 * kept line as it is). */
static inline void put_answer(Kernel *self, Buf *out, const unsigned char *line, size_t n, int32_t idx) {
    self->count[idx]++;
    if (!self->filter || (self->keep[idx] & ENTRY_KEEP)) {
        if (!self->filter || self->annotate_kept) {
            buf_put(out, line, n - 1);
            buf_put(out, self->suffix[idx], self->suffix_len[idx]);
        } else {
            buf_put(out, line, n);
        }
        buf_byte(out, '\n');
    }
}

/* run(block, start) -> (stop, status, key, hits): annotates lines of block from offset start until the end or the
 * first line it cannot answer, adding their output to the kernel's (take_output); stop is that line's offset,
 * status why (END, MISS with its key, OTHER, TAG, PYTHON, BODY or GROUP with what to classify; ISSUE just after
 * answering a line whose answer carries an issue, for the caller to report), hits the lines answered. */
static PyObject *Kernel_run(Kernel *self, PyObject *args) {
    Py_buffer block;
    Py_ssize_t start;
    if (!block_args(self, args, &block, &start)) return NULL;
    self->busy = 1;
    const unsigned char *data = block.buf;
    size_t len = (size_t)block.len, pos = (size_t)start;
    long long hits = 0;
    int status = ST_END;
    Buf *out = &self->out; /* the block's output so far (take_output() hands it over) */
    /* Without the GIL, other threads run meanwhile: other kernels, and the threads that read, number and write the
     * lines (holding it, each run made the reader and writer wait, and they made the next run wait). */
    PyThreadState *saved = self->release_gil ? PyEval_SaveThread() : NULL;
    while (pos < len) {
        const unsigned char *line = data + pos;
        size_t n;
        int st = line_key(self, line, len - pos, 1, &n);
        if (st) { status = st; break; }
        int32_t idx;
        if (!map_get(&self->keys, (const unsigned char *)self->key.data, self->key.len, &idx)) {
            status = ST_MISS;
            break;
        }
        if (idx < 0) { status = ST_PYTHON; break; }
        put_answer(self, out, line, n, idx);
        hits++;
        pos += n + (pos + n < len); /* and its newline */
        if (out->failed) break;
        if (self->keep[idx] & ENTRY_ISSUE) { status = ST_ISSUE; break; } /* answered: the caller adds its issue */
    }
    if (saved) PyEval_RestoreThread(saved);
    self->busy = 0;
    PyBuffer_Release(&block);
    if (out->failed || self->key.failed) {
        out->len = 0;
        out->failed = 0;
        return PyErr_NoMemory();
    }
    PyObject *key = Py_None;
    Py_INCREF(Py_None);
    if (status == ST_MISS || status == ST_BODY || status == ST_GROUP) {
        Py_DECREF(Py_None);
        const Buf *b = status == ST_MISS ? &self->key : &self->body;
        key = PyBytes_FromStringAndSize(b->data ? b->data : "", (Py_ssize_t)b->len);
        if (!key) return NULL;
    }
    return Py_BuildValue("(niNL)", (Py_ssize_t)pos, status, key, hits);
}

typedef struct {
    size_t start, end, index, at;
} Deferred;

/* scan(block) -> (hits, deferred): annotates every line of a block it can answer, in one pass without the GIL, and
 * does not stop at the others: each line run() would stop at is left out of the output and listed instead, as
 * (start, end, index, at): its offsets in the block, its index among the block's lines, and the offset in the output
 * where its answer belongs. Threads sharing the Python side use it, so a kernel never waits for that side (nor for
 * the GIL) in the middle of a block. */
static PyObject *Kernel_scan(Kernel *self, PyObject *arg) {
    Py_buffer block;
    if (!check_idle(self) || PyObject_GetBuffer(arg, &block, PyBUF_SIMPLE) < 0) return NULL;
    self->busy = 1;
    const unsigned char *data = block.buf;
    size_t len = (size_t)block.len, pos = 0, index = 0, n_deferred = 0, cap_deferred = 0;
    long long hits = 0;
    int failed = 0;
    Deferred *deferred = NULL;
    Buf *out = &self->out;
    PyThreadState *saved = PyEval_SaveThread();
    while (pos < len) {
        const unsigned char *line = data + pos;
        size_t n;
        int32_t idx = -1;
        if (line_key(self, line, len - pos, 1, &n) == 0 &&
            map_get(&self->keys, (const unsigned char *)self->key.data, self->key.len, &idx) && idx >= 0 &&
            !(self->keep[idx] & ENTRY_ISSUE)) { /* a line with an issue is left to run(), which reports it */
            put_answer(self, out, line, n, idx);
            hits++;
        } else {
            const unsigned char *nl = memchr(line, '\n', len - pos);
            n = nl ? (size_t)(nl - line) : len - pos;
            if (n_deferred == cap_deferred) {
                size_t cap = cap_deferred ? cap_deferred * 2 : 64;
                Deferred *d = realloc(deferred, cap * sizeof(Deferred));
                if (!d) { failed = 1; break; }
                deferred = d;
                cap_deferred = cap;
            }
            deferred[n_deferred++] = (Deferred){pos, pos + n, index, out->len};
        }
        pos += n + (pos + n < len); /* and its newline */
        index++;
        if (out->failed || self->key.failed) { failed = 1; break; }
    }
    PyEval_RestoreThread(saved);
    self->busy = 0;
    PyBuffer_Release(&block);
    PyObject *list = failed ? NULL : PyList_New((Py_ssize_t)n_deferred);
    for (size_t i = 0; list && i < n_deferred; i++) {
        const Deferred *d = &deferred[i];
        PyObject *t = Py_BuildValue("(nnnn)", (Py_ssize_t)d->start, (Py_ssize_t)d->end, (Py_ssize_t)d->index,
                                    (Py_ssize_t)d->at);
        if (!t) { Py_CLEAR(list); break; }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    free(deferred);
    if (!list) {
        out->len = 0;
        out->failed = 0;
        self->key.failed = 0;
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    return Py_BuildValue("(LN)", hits, list);
}

/* probe(block, start) -> bool: whether run() would answer the line at start (nothing is written or counted). A
 * caller that holds lines back for its own path asks this first: if so, it writes its lines before run() writes. */
static PyObject *Kernel_probe(Kernel *self, PyObject *args) {
    Py_buffer block;
    Py_ssize_t start;
    if (!block_args(self, args, &block, &start)) return NULL;
    const unsigned char *line = (const unsigned char *)block.buf + start;
    const unsigned char *nl = memchr(line, '\n', (size_t)(block.len - start));
    size_t n = nl ? (size_t)(nl - line) : (size_t)(block.len - start);
    int32_t idx = -1;
    size_t used;
    int answered = start < block.len && line_key(self, line, n, 0, &used) == 0 &&
                   map_get(&self->keys, (const unsigned char *)self->key.data, self->key.len, &idx) && idx >= 0;
    PyBuffer_Release(&block);
    if (self->key.failed) return PyErr_NoMemory();
    return PyBool_FromLong(answered);
}

/* append_output(data): lines the caller answered, into the output (between the kernel's own lines) */
static PyObject *Kernel_append_output(Kernel *self, PyObject *arg) {
    Py_buffer data;
    if (!check_idle(self) || PyObject_GetBuffer(arg, &data, PyBUF_SIMPLE) < 0) return NULL;
    buf_put(&self->out, data.buf, (size_t)data.len);
    PyBuffer_Release(&data);
    if (self->out.failed) {
        self->out.len = 0;
        self->out.failed = 0;
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

/* The output of a block handed to Python without a copy: the kernel's buffer itself, freed with this object (a
 * block's output is about a megabyte; copying it into a bytes object took 0.3 s per million lines, a tenth of the
 * kernel's time inside annotate). Read through a memoryview. */
typedef struct {
    PyObject_HEAD
    char *data;
    Py_ssize_t len;
} Output;

static void Output_dealloc(Output *self) {
    free(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Output_getbuffer(Output *self, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)self, self->data, self->len, 1, flags);
}

static PyBufferProcs Output_as_buffer = {(getbufferproc)Output_getbuffer, NULL};

static PyTypeObject OutputType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "aiterms.dataset._kernel.Output",
    .tp_doc = "A block's output, handed over by the kernel (read it through a memoryview).",
    .tp_basicsize = sizeof(Output),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)Output_dealloc,
    .tp_as_buffer = &Output_as_buffer,
};

#define HAND_OVER_BYTES (64u << 10) /* smaller outputs are copied, and the buffer kept */
#define MAX_NEXT_OUTPUT (8u << 20)

/* take_output() -> bytes or memoryview: the output since the last call. A large one is the kernel's buffer itself
 * (the kernel starts a new one, as large as the last block's output and an eighth more, so it rarely grows). */
static PyObject *Kernel_take_output(Kernel *self, PyObject *Py_UNUSED(ignored)) {
    if (!check_idle(self)) return NULL;
    Buf *out = &self->out;
    if (out->len < HAND_OVER_BYTES) {
        PyObject *got = PyBytes_FromStringAndSize(out->data ? out->data : "", (Py_ssize_t)out->len);
        out->len = 0;
        return got;
    }
    Output *o = PyObject_New(Output, &OutputType);
    if (!o) return NULL;
    o->data = out->data;
    o->len = (Py_ssize_t)out->len;
    size_t next = out->len + out->len / 8;
    if (next > MAX_NEXT_OUTPUT) next = MAX_NEXT_OUTPUT; /* after a huge block, do not hold as much again */
    out->data = malloc(next);
    out->cap = out->data ? next : 0; /* without memory now, buf_reserve tries again, and fails the block if it must */
    out->len = 0;
    PyObject *view = PyMemoryView_FromObject((PyObject *)o);
    Py_DECREF(o);
    return view;
}

/* take_counts() -> [(entry, lines)] since the last call, for the entries that answered any line */
static PyObject *Kernel_take_counts(Kernel *self, PyObject *Py_UNUSED(ignored)) {
    if (!check_idle(self)) return NULL;
    PyObject *list = PyList_New(0);
    if (!list) return NULL;
    for (Py_ssize_t i = 0; i < self->n_entries; i++) {
        if (!self->count[i]) continue;
        PyObject *t = Py_BuildValue("(nL)", i, (long long)self->count[i]);
        if (!t || PyList_Append(list, t) < 0) { Py_XDECREF(t); Py_DECREF(list); return NULL; }
        Py_DECREF(t);
        self->count[i] = 0;
    }
    return list;
}

static PyObject *Kernel_sizes(Kernel *self, PyObject *Py_UNUSED(ignored)) {
    return Py_BuildValue("{s:n,s:n,s:n,s:n}", "keys", (Py_ssize_t)self->keys.count, "tags",
                         (Py_ssize_t)self->tags.count, "bodies", (Py_ssize_t)self->bodies.count, "entries",
                         self->n_entries);
}

static PyMethodDef Kernel_methods[] = {
    {"key", (PyCFunction)Kernel_key, METH_O,
     "The record key of one line (bytes), or why it has none (int; (BODY or GROUP, bytes) for an unknown one)."},
    {"set_tag", (PyCFunction)Kernel_set_tag, METH_VARARGS, "Give a raw tag its class (0: the tag does not act)."},
    {"set_body", (PyCFunction)Kernel_set_body, METH_VARARGS,
     "Classify a declaration body: reduced class (-1: not signed, 0: cannot matter), exact class, and the bit "
     "masks of the uses its rules permit and prohibit."},
    {"set_vocabulary", (PyCFunction)Kernel_set_vocabulary, METH_VARARGS,
     "The terms a rule may use, and the uses that can matter: the kernel then checks rules itself."},
    {"set_group", (PyCFunction)Kernel_set_group, METH_VARARGS,
     "Classify a party's kept declarations (5 bytes each: reduced class, order rank; -1: the Python path)."},
    {"set_entry", (PyCFunction)Kernel_set_entry, METH_VARARGS,
     "Add an answer: its index, suffix, keep flag and issue flag (its lines also get a coded issue)."},
    {"add", (PyCFunction)Kernel_add, METH_VARARGS, "Map a record key to an answer (-1: the caller's own path)."},
    {"run", (PyCFunction)Kernel_run, METH_VARARGS, "Annotate a block of lines from an offset (see the module)."},
    {"scan", (PyCFunction)Kernel_scan, METH_O,
     "Annotate every line of a block it can answer; list the others and where their answers go (see the module)."},
    {"probe", (PyCFunction)Kernel_probe, METH_VARARGS, "Whether run() would answer the line at an offset."},
    {"append_output", (PyCFunction)Kernel_append_output, METH_O, "Add lines the caller answered to the output."},
    {"take_output", (PyCFunction)Kernel_take_output, METH_NOARGS,
     "The output since the last call (bytes, or a memoryview of the kernel's buffer, handed over)."},
    {"take_counts", (PyCFunction)Kernel_take_counts, METH_NOARGS, "Lines answered per entry since the last call."},
    {"sizes", (PyCFunction)Kernel_sizes, METH_NOARGS, "How many keys, tags and entries the kernel holds."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KernelType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "aiterms.dataset._kernel.Kernel",
    .tp_doc = "The annotate fast path's record keys and answers for one query (see the module).",
    .tp_basicsize = sizeof(Kernel),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Kernel_init,
    .tp_dealloc = (destructor)Kernel_dealloc,
    .tp_methods = Kernel_methods,
};

/* count_lines(data) -> int: how many newlines a block holds (the reader numbers lines with it). bytes.count holds
 * the GIL and reads a byte at a time; this lets the kernels run meanwhile and uses memchr. */
static PyObject *count_lines(PyObject *Py_UNUSED(module), PyObject *arg) {
    Py_buffer data;
    if (PyObject_GetBuffer(arg, &data, PyBUF_SIMPLE) < 0) return NULL;
    const char *p = data.buf, *end = p + data.len;
    Py_ssize_t n = 0;
    Py_BEGIN_ALLOW_THREADS
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        n++;
        p++;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    return PyLong_FromSsize_t(n);
}

static PyMethodDef module_methods[] = {
    {"count_lines", count_lines, METH_O, "How many newline bytes a buffer holds (without the GIL)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef kernel_module = {
    PyModuleDef_HEAD_INIT, "_kernel",
    "The compiled kernel of the annotate fast path (spec/dataset.md#fast-path).", -1, module_methods, NULL, NULL, NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__kernel(void) {
    init_tables();
    if (PyType_Ready(&KernelType) < 0 || PyType_Ready(&OutputType) < 0) return NULL;
    PyObject *m = PyModule_Create(&kernel_module);
    if (!m) return NULL;
    Py_INCREF(&KernelType);
    if (PyModule_AddObject(m, "Kernel", (PyObject *)&KernelType) < 0) {
        Py_DECREF(&KernelType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "END", ST_END) || PyModule_AddIntConstant(m, "MISS", ST_MISS) ||
        PyModule_AddIntConstant(m, "OTHER", ST_OTHER) || PyModule_AddIntConstant(m, "TAG", ST_TAG) ||
        PyModule_AddIntConstant(m, "PYTHON", ST_PYTHON) || PyModule_AddIntConstant(m, "BODY", ST_BODY) ||
        PyModule_AddIntConstant(m, "GROUP", ST_GROUP) ||
        PyModule_AddIntConstant(m, "ISSUE", ST_ISSUE) || PyModule_AddIntConstant(m, "MAX_LINE", MAX_LINE) ||
        PyModule_AddIntConstant(m, "PROTOCOL", KERNEL_PROTOCOL)) {
        Py_DECREF(m);
        return NULL;
    }
    const char mark = EMPTY_WINDOW_MARK;
    PyObject *empty = PyBytes_FromStringAndSize(&mark, 1);
    if (!empty || PyModule_AddObjectRef(m, "EMPTY_WINDOW_KEY", empty) < 0) {
        Py_XDECREF(empty);
        Py_DECREF(m);
        return NULL;
    }
    Py_DECREF(empty);
    return m;
}
