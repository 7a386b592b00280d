/*
 * rules._fastfold: the article-text fold of rules/normalize.py in one C pass.
 *
 * fold(text) -> (norm, spans)
 *   norm  : the normalised, plural-folded words of text joined by single spaces, with a space
 *           at both ends (" w1 w2 ... wn "), and a double space where a sentence break lies
 *           between two words (normalize.sentence_breaks: a line break, or a sentence mark
 *           followed by whitespace; a full stop only after a word of two or more letters);
 *           "" when text has no word. normalize.scan_form builds the same in Python.
 *   spans : bytes holding native int32 pairs (start, end): the offsets in text of each word's
 *           first and last contributing character (end exclusive), exactly as
 *           normalize.tokens_with_spans computes them.
 *
 * fold_scan(text, automaton, want_ids[, keep_text]) -> (norm, spans, seen[, ids])
 *   fold(text) and automaton.scan(norm) (scan_words with want_ids), a rules._wordscan
 *   WordAutomaton, in one pass: each word is handed to the automaton, with its hash, as it is
 *   closed (the word sink, rules/_wordsink.h). Without keep_text, norm and spans are None and
 *   are not built (deciding needs only the scan; the engine folds again if hits are wanted).
 *
 * Only the mechanics are here. What a character folds to and what a plural folds to stay
 * defined in Python (normalize.fold_char, normalize.fold_plural): configure() hands this
 * module those two functions, and they are called for the characters and words that need
 * them (non-ASCII characters, words of four or more characters ending in "s"; every other
 * word is its own singular by fold_plural's first test), and their answers are cached here
 * (both are pure functions; configure() empties the caches). So there is one definition of
 * "the same word", and a property test checks that both paths agree. fold_char also says
 * which characters are sentence marks (it returns "." for a full stop, "!" for the others).
 *
 * Does no I/O.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "_wordsink.h"

#if defined(__GNUC__) || defined(__clang__)
#define NW_INLINE inline __attribute__((always_inline))
#define NW_NOINLINE __attribute__((noinline))
#else
#define NW_INLINE inline
#define NW_NOINLINE
#endif

static PyObject *g_fold_char = NULL; /* callable: one-character str -> folded str */
static PyObject *g_plurals = NULL;   /* mapping: word -> singular (a dict with __missing__) */

/* ASCII fold: lower-cased letter or digit, 0 for a separator. */
static unsigned char ascii_fold[128];

/* Folds of non-ASCII characters, direct-mapped by code point. News text uses few distinct
 * non-ASCII characters (quotes, dashes, accented letters), so this avoids creating a key
 * string and calling into Python for nearly all of them. Entries own their reference. */
#define CACHE_SLOTS 2048
typedef struct {
    Py_UCS4 cp;
    PyObject *fold;
} CacheSlot;
static CacheSlot g_cache[CACHE_SLOTS];

typedef struct {
    Py_UCS4 *out;       /* the norm being built */
    Py_ssize_t len, cap;
    int32_t *spans;     /* start, end pairs */
    Py_ssize_t nspans, spans_cap; /* counted in int32 values */
    int in_word;
    Py_ssize_t word_at; /* where the current word starts in out */
    Py_ssize_t src_start, src_last;
    Py_ssize_t last_len; /* folded length of the last word closed */
    int mark;            /* this gap holds a sentence mark that breaks if whitespace follows */
    int brk;             /* this gap holds a sentence break */
    const WordSinkAPI *sink; /* fold_scan: the automaton's scan, handed every word and break */
    void *scan;
    int keep;            /* build norm and spans; 0: only hand the words to the sink */
    Py_ssize_t words;    /* words closed so far */
    uint64_t hash;       /* with a sink: nw_word_step over the current word so far */
} Fold;

/* The characters str.splitlines() breaks on (normalize.LINE_BREAKS). */
static inline int is_line_break(Py_UCS4 c)
{
    return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d ||
           c == 0x1e || c == 0x85 || c == 0x2028 || c == 0x2029;
}

/* A separator character (not a word character) in a gap between words: track breaks. `fold`
 * is '.' for a full stop, '!' for another sentence mark, ' ' otherwise. */
static inline void gap_char(Fold *f, Py_UCS4 c, Py_UCS4 fold)
{
    if (is_line_break(c))
        f->brk = 1;
    else if (Py_UNICODE_ISSPACE(c))
        f->brk |= f->mark;
    else if (fold == '!' || (fold == '.' && f->last_len >= 2))
        f->mark = 1;
}

static NW_NOINLINE int grow_out(Fold *f, Py_ssize_t extra)
{
    if (f->len + extra <= f->cap)
        return 0;
    Py_ssize_t cap = f->cap * 2;
    if (cap < f->len + extra)
        cap = f->len + extra;
    Py_UCS4 *out = PyMem_Realloc(f->out, (size_t)cap * sizeof(Py_UCS4));
    if (out == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    f->out = out;
    f->cap = cap;
    return 0;
}

static NW_NOINLINE int grow_spans(Fold *f)
{
    Py_ssize_t cap = f->spans_cap ? f->spans_cap * 2 : 256;
    int32_t *spans = PyMem_Realloc(f->spans, (size_t)cap * sizeof(int32_t));
    if (spans == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    f->spans = spans;
    f->spans_cap = cap;
    return 0;
}

static NW_INLINE int push_span(Fold *f, Py_ssize_t start, Py_ssize_t end)
{
    if (f->nspans + 2 > f->spans_cap && grow_spans(f) < 0)
        return -1;
    f->spans[f->nspans++] = (int32_t)start;
    f->spans[f->nspans++] = (int32_t)end;
    return 0;
}

/* Plural folds seen before, direct-mapped by a hash of the word: a word of four or more
 * characters ending in "s" is one word in ten of news text, and asking the Python mapping
 * (a str built, hashed and looked up) cost a quarter of the fold. fold_plural is a pure
 * function of the word, so a cached answer is the mapping's answer; configure() empties the
 * cache. Words or folds longer than PLURAL_MAX characters are not cached. */
#define PLURAL_SLOTS 1024
#define PLURAL_MAX 22
typedef struct {
    uint64_t hash;
    int32_t len, out_len; /* len 0: empty */
    Py_UCS4 word[PLURAL_MAX], out[PLURAL_MAX];
} PluralSlot;
static PluralSlot g_plural_cache[PLURAL_SLOTS];

static uint64_t word_hash(const Py_UCS4 *w, Py_ssize_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (Py_ssize_t k = 0; k < n; k++)
        h = (h ^ w[k]) * 1099511628211ULL;
    return h;
}

/* The word out[word_at:len] (four or more characters, ending in "s") replaced by its plural
 * fold: from the cache, else from the Python mapping (then cached). */
static NW_NOINLINE int fold_plural_word(Fold *f)
{
    Py_ssize_t wlen = f->len - f->word_at;
    const Py_UCS4 *w = f->out + f->word_at;
    uint64_t h = word_hash(w, wlen);
    PluralSlot *slot = &g_plural_cache[h % PLURAL_SLOTS];
    if (slot->len == wlen && slot->hash == h && memcmp(slot->word, w, (size_t)wlen * 4) == 0) {
        /* out_len <= wlen + PLURAL_MAX was checked when cached; grow for it */
        f->len = f->word_at;
        if (grow_out(f, slot->out_len + 1) < 0)
            return -1;
        memcpy(f->out + f->len, slot->out, (size_t)slot->out_len * 4);
        f->len += slot->out_len;
        return 0;
    }
    PyObject *word = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, w, wlen);
    if (word == NULL)
        return -1;
    PyObject *single = PyObject_GetItem(g_plurals, word);
    Py_DECREF(word);
    if (single == NULL)
        return -1;
    if (!PyUnicode_Check(single)) {
        Py_DECREF(single);
        PyErr_SetString(PyExc_TypeError, "plural fold must return str");
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(single);
    int cache = wlen <= PLURAL_MAX && n <= PLURAL_MAX;
    if (cache) {
        slot->len = 0; /* written whole below; never half-valid */
        slot->hash = h;
        memcpy(slot->word, w, (size_t)wlen * 4);
    }
    f->len = f->word_at;
    if (grow_out(f, n + 1) < 0) {
        Py_DECREF(single);
        return -1;
    }
    int kind = PyUnicode_KIND(single);
    const void *data = PyUnicode_DATA(single);
    for (Py_ssize_t k = 0; k < n; k++)
        f->out[f->len++] = PyUnicode_READ(kind, data, k);
    Py_DECREF(single);
    if (cache) {
        memcpy(slot->out, f->out + f->word_at, (size_t)n * 4);
        slot->out_len = (int32_t)n;
        slot->len = (int32_t)wlen;
    }
    return 0;
}

/* Close the current word, if any: fold a possible plural, record its span, add a space. */
static NW_INLINE int end_word(Fold *f)
{
    if (!f->in_word)
        return 0;
    f->in_word = 0;
    Py_ssize_t wlen = f->len - f->word_at;
    int plural = wlen >= 4 && f->out[f->len - 1] == 's';
    if (plural && fold_plural_word(f) < 0)
        return -1;
    if (f->keep && push_span(f, f->src_start, f->src_last + 1) < 0)
        return -1;
    f->last_len = f->len - f->word_at;
    f->words++;
    if (f->scan != NULL) {
        uint64_t h = f->hash;
        if (plural) { /* the word may have changed: its hash again */
            h = 0;
            for (Py_ssize_t k = f->word_at; k < f->len; k++)
                h = nw_word_step(h, f->out[k]);
        }
        if (f->sink->word(f->scan, f->out + f->word_at, f->last_len, h) < 0)
            return -1;
    }
    if (!f->keep) {
        f->len = 0; /* the buffer holds one word at a time: it stays in the L1 cache */
        return 0;
    }
    f->out[f->len++] = ' '; /* grow_out before every word character keeps two spare slots */
    return 0;
}

/* A new reference to the fold of a non-ASCII character. */
static PyObject *fold_of(Py_UCS4 cp)
{
    CacheSlot *slot = &g_cache[cp % CACHE_SLOTS];
    if (slot->fold != NULL && slot->cp == cp) {
        Py_INCREF(slot->fold);
        return slot->fold;
    }
    PyObject *key = PyUnicode_FromOrdinal((int)cp);
    if (key == NULL)
        return NULL;
    PyObject *folded = PyObject_CallOneArg(g_fold_char, key);
    Py_DECREF(key);
    if (folded == NULL)
        return NULL;
    if (!PyUnicode_Check(folded)) {
        Py_DECREF(folded);
        PyErr_SetString(PyExc_TypeError, "character fold must return str");
        return NULL;
    }
    /* the callback ran Python code: re-read the slot, another call may have filled it */
    PyObject *old = slot->fold;
    Py_INCREF(folded);
    slot->cp = cp;
    slot->fold = folded;
    Py_XDECREF(old);
    return folded;
}

static NW_INLINE int word_char(Fold *f, Py_UCS4 c, Py_ssize_t i, const int hashing)
{
    /* room for a break's extra space, this character and the space end_word adds after it */
    if (f->len + 3 > f->cap && grow_out(f, 3) < 0)
        return -1;
    if (!f->in_word) {
        if (f->brk && f->words) {
            if (f->keep)
                f->out[f->len++] = ' '; /* a sentence break: a double space before the word */
            if (f->scan != NULL && f->sink->brk(f->scan) < 0)
                return -1;
        }
        f->mark = f->brk = 0;
        f->in_word = 1;
        f->word_at = f->len;
        f->src_start = i;
        f->hash = 0;
    }
    if (hashing) /* a constant where inlined: the plain fold pays nothing for it */
        f->hash = nw_word_step(f->hash, c);
    f->src_last = i;
    f->out[f->len++] = c;
    return 0;
}

/* The fold's loop over text of one kind (a constant where it is inlined). */
static NW_INLINE int fold_loop(Fold *f, const void *data, Py_ssize_t n, const int kind,
                              const int hashing)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 128) {
            unsigned char a = ascii_fold[c];
            if (a) {
                if (word_char(f, a, i, hashing) < 0)
                    return -1;
                continue;
            }
            if (end_word(f) < 0)
                return -1;
            if (c == ' ') { /* the usual separator: gap_char(f, ' ', ' ') without its tests */
                f->brk |= f->mark;
                continue;
            }
            gap_char(f, c, c == '.' ? '.' : (c == '!' || c == '?' || c == ':' || c == ';') ? '!' : ' ');
            continue;
        }
        PyObject *folded = fold_of(c);
        if (folded == NULL)
            return -1;
        Py_ssize_t m = PyUnicode_GET_LENGTH(folded);
        int fkind = PyUnicode_KIND(folded);
        const void *fdata = PyUnicode_DATA(folded);
        int separator = m > 0; /* nothing but spaces, or one sentence mark */
        for (Py_ssize_t k = 0; k < m && separator; k++) {
            Py_UCS4 d = PyUnicode_READ(fkind, fdata, k);
            separator = d == ' ' || (m == 1 && (d == '.' || d == '!'));
        }
        if (separator) {
            Py_UCS4 d = PyUnicode_READ(fkind, fdata, 0);
            Py_DECREF(folded);
            if (end_word(f) < 0)
                return -1;
            gap_char(f, c, d);
            continue;
        }
        for (Py_ssize_t k = 0; k < m; k++) {
            Py_UCS4 d = PyUnicode_READ(fkind, fdata, k);
            if (d == ' ' ? end_word(f) : word_char(f, d, i, hashing)) {
                Py_DECREF(folded);
                return -1;
            }
        }
        Py_DECREF(folded);
    }
    return 0;
}

/* fold(text), handing each word and break to `sink` / `scan` too when they are not NULL;
 * with keep == 0 (a sink is given) only that: returns (None, None), building neither the
 * norm nor the spans. */
static PyObject *fold_text(PyObject *text, const WordSinkAPI *sink, void *scan, int keep)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "fold() needs a str");
        return NULL;
    }
    if (g_fold_char == NULL || g_plurals == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "rules._fastfold is not configured");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n >= INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "text too long to fold");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Fold f = {0};
    f.sink = sink;
    f.scan = scan;
    f.keep = keep;
    f.cap = keep ? n + 16 : 64;
    f.out = PyMem_Malloc((size_t)f.cap * sizeof(Py_UCS4));
    if (f.out == NULL)
        return PyErr_NoMemory();
    if (keep)
        f.out[f.len++] = ' ';
    int rc;
    /* one loop per string kind (a plain load per character), and with or without a sink */
    if (scan == NULL) {
        switch (kind) {
        case PyUnicode_1BYTE_KIND:
            rc = fold_loop(&f, data, n, PyUnicode_1BYTE_KIND, 0);
            break;
        case PyUnicode_2BYTE_KIND:
            rc = fold_loop(&f, data, n, PyUnicode_2BYTE_KIND, 0);
            break;
        default:
            rc = fold_loop(&f, data, n, PyUnicode_4BYTE_KIND, 0);
            break;
        }
    } else {
        switch (kind) {
        case PyUnicode_1BYTE_KIND:
            rc = fold_loop(&f, data, n, PyUnicode_1BYTE_KIND, 1);
            break;
        case PyUnicode_2BYTE_KIND:
            rc = fold_loop(&f, data, n, PyUnicode_2BYTE_KIND, 1);
            break;
        default:
            rc = fold_loop(&f, data, n, PyUnicode_4BYTE_KIND, 1);
            break;
        }
    }
    if (rc < 0)
        goto error;
    if (end_word(&f) < 0)
        goto error;
    if (!keep) {
        PyMem_Free(f.out);
        return Py_BuildValue("(OO)", Py_None, Py_None);
    }
    PyObject *norm = f.nspans ? PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, f.out, f.len)
                              : PyUnicode_New(0, 0);
    PyObject *spans = PyBytes_FromStringAndSize(
        f.spans ? (const char *)f.spans : "", (Py_ssize_t)(f.nspans * sizeof(int32_t)));
    PyMem_Free(f.out);
    PyMem_Free(f.spans);
    if (norm == NULL || spans == NULL) {
        Py_XDECREF(norm);
        Py_XDECREF(spans);
        return NULL;
    }
    return Py_BuildValue("(NN)", norm, spans);
error:
    PyMem_Free(f.out);
    PyMem_Free(f.spans);
    return NULL;
}

static PyObject *fastfold_fold(PyObject *module, PyObject *text)
{
    return fold_text(text, NULL, NULL, 1);
}

static const WordSinkAPI *g_sink = NULL; /* imported from rules._wordscan on first use */

/* fold_scan(text, automaton, want_ids[, keep_text]) -> (norm, spans, seen) or
 * (norm, spans, seen, ids): fold(text) and automaton.scan(norm) (scan_words(norm) with
 * want_ids) in one pass. keep_text false: norm and spans are None, not built (deciding
 * needs only the scan; they are folded again if hits are wanted). */
static PyObject *fastfold_fold_scan(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 && nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "fold_scan(text, automaton, want_ids[, keep_text])");
        return NULL;
    }
    int keep = nargs == 4 ? PyObject_IsTrue(args[3]) : 1;
    if (keep < 0)
        return NULL;
    if (g_sink == NULL) {
        const WordSinkAPI *api = PyCapsule_Import(WORD_SINK_CAPSULE, 0);
        if (api == NULL)
            return NULL;
        if (api->version != WORD_SINK_API_VERSION) {
            PyErr_SetString(PyExc_ImportError, "rules._wordscan: another word sink version");
            return NULL;
        }
        g_sink = api;
    }
    if (!PyObject_TypeCheck(args[1], g_sink->type)) {
        PyErr_SetString(PyExc_TypeError, "fold_scan() needs a rules._wordscan.WordAutomaton");
        return NULL;
    }
    int want_ids = PyObject_IsTrue(args[2]);
    if (want_ids < 0)
        return NULL;
    void *scan = g_sink->begin(args[1], want_ids);
    if (scan == NULL)
        return NULL;
    PyObject *folded = fold_text(args[0], g_sink, scan, keep);
    PyObject *found = g_sink->end(scan, folded != NULL);
    if (folded == NULL || found == NULL) {
        Py_XDECREF(folded);
        Py_XDECREF(found);
        return NULL;
    }
    PyObject *norm = PyTuple_GET_ITEM(folded, 0), *spans = PyTuple_GET_ITEM(folded, 1);
    PyObject *out = want_ids ? Py_BuildValue("(OOOO)", norm, spans, PyTuple_GET_ITEM(found, 0),
                                             PyTuple_GET_ITEM(found, 1))
                             : Py_BuildValue("(OOO)", norm, spans, found);
    Py_DECREF(folded);
    Py_DECREF(found);
    return out;
}

/* scan_fields(texts, automaton, want_ids) -> (seen per text, ids per text or None): what
 * fold_scan(text, automaton, want_ids, False) gives each of `texts` (a tuple or list), in one
 * call, as the engine's decide wants it (the folded texts are not built). */
static PyObject *fastfold_scan_fields(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !(PyTuple_Check(args[0]) || PyList_Check(args[0]))) {
        PyErr_SetString(PyExc_TypeError, "scan_fields(texts, automaton, want_ids)");
        return NULL;
    }
    PyObject *call_args[4] = {NULL, args[1], args[2], Py_False};
    PyObject *texts = args[0];
    Py_ssize_t n = PySequence_Fast_GET_SIZE(texts);
    int want_ids = PyObject_IsTrue(args[2]);
    if (want_ids < 0)
        return NULL;
    PyObject *seen = PyTuple_New(n), *ids = want_ids ? PyTuple_New(n) : Py_NewRef(Py_None);
    if (seen == NULL || ids == NULL)
        goto error;
    for (Py_ssize_t k = 0; k < n; k++) {
        call_args[0] = PySequence_Fast_GET_ITEM(texts, k);
        PyObject *one = fastfold_fold_scan(module, call_args, 4);
        if (one == NULL)
            goto error;
        PyTuple_SET_ITEM(seen, k, Py_NewRef(PyTuple_GET_ITEM(one, 2)));
        if (want_ids)
            PyTuple_SET_ITEM(ids, k, Py_NewRef(PyTuple_GET_ITEM(one, 3)));
        Py_DECREF(one);
    }
    return Py_BuildValue("(NN)", seen, ids);
error:
    Py_XDECREF(seen);
    Py_XDECREF(ids);
    return NULL;
}

/* locate(norm, needle, whole, nwords, field) -> [(field, first word, end word, sentence)]
 * Every occurrence of needle in a scan text (whole: the character after it must be a space),
 * with its word index and sentence number: what rules.engine._Doc.occurrences computes with
 * str.find and str.count, in one call. A sentence break is a double space in norm: its first
 * space counts a sentence, not a word. */
static PyObject *fastfold_locate(PyObject *module, PyObject *args)
{
    PyObject *norm, *needle;
    int whole, nwords, field;
    if (!PyArg_ParseTuple(args, "UUpii:locate", &norm, &needle, &whole, &nwords, &field))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(norm), k = PyUnicode_GET_LENGTH(needle);
    int kind = PyUnicode_KIND(norm);
    const void *data = PyUnicode_DATA(norm);
    PyObject *out = PyList_New(0);
    if (out == NULL || k == 0)
        return out;
    Py_ssize_t pos = 0, last = 0;
    long word = 0, sentence = 0;
    for (;;) {
        Py_ssize_t at = PyUnicode_Find(norm, needle, pos, n, 1);
        if (at == -2)
            goto error;
        if (at < 0)
            break;
        pos = at + 1;
        if (whole && (at + k >= n || PyUnicode_READ(kind, data, at + k) != ' '))
            continue;
        /* one loop per character width, so the compiler can keep it tight */
#define COUNT_SPACES(T)                                                                        \
    do {                                                                                       \
        const T *c = (const T *)data;                                                          \
        for (Py_ssize_t i = last; i < at; i++) {                                               \
            if (c[i] != ' ')                                                                   \
                continue;                                                                      \
            if (i + 1 < n && c[i + 1] == ' ')                                                  \
                sentence++;                                                                    \
            else                                                                               \
                word++;                                                                        \
        }                                                                                      \
    } while (0)
        if (kind == PyUnicode_1BYTE_KIND)
            COUNT_SPACES(Py_UCS1);
        else if (kind == PyUnicode_2BYTE_KIND)
            COUNT_SPACES(Py_UCS2);
        else
            COUNT_SPACES(Py_UCS4);
#undef COUNT_SPACES
        last = at;
        PyObject *item = Py_BuildValue("(illl)", field, word, word + nwords, sentence);
        if (item == NULL || PyList_Append(out, item) < 0) {
            Py_XDECREF(item);
            goto error;
        }
        Py_DECREF(item);
    }
    return out;
error:
    Py_DECREF(out);
    return NULL;
}

static PyObject *fastfold_configure(PyObject *module, PyObject *args)
{
    PyObject *fold_char, *plurals;
    if (!PyArg_ParseTuple(args, "OO:configure", &fold_char, &plurals))
        return NULL;
    if (!PyCallable_Check(fold_char)) {
        PyErr_SetString(PyExc_TypeError, "fold_char must be callable");
        return NULL;
    }
    Py_INCREF(fold_char);
    Py_INCREF(plurals);
    Py_XSETREF(g_fold_char, fold_char);
    Py_XSETREF(g_plurals, plurals);
    for (int k = 0; k < CACHE_SLOTS; k++) /* folds of another function must not survive */
        Py_CLEAR(g_cache[k].fold);
    memset(g_plural_cache, 0, sizeof g_plural_cache);
    Py_RETURN_NONE;
}

static PyMethodDef fastfold_methods[] = {
    {"fold", fastfold_fold, METH_O,
     "fold(text) -> (norm, spans): normalised words of text and their offsets in it."},
    {"fold_scan", (PyCFunction)(void (*)(void))fastfold_fold_scan, METH_FASTCALL,
     "fold_scan(text, automaton, want_ids[, keep_text]) -> (norm, spans, seen[, ids]): "
     "fold(text) and automaton.scan(norm) (scan_words with want_ids) in one pass; norm and "
     "spans None without keep_text."},
    {"scan_fields", (PyCFunction)(void (*)(void))fastfold_scan_fields, METH_FASTCALL,
     "scan_fields(texts, automaton, want_ids) -> (seen per text, ids per text or None): "
     "fold_scan(text, automaton, want_ids, False) of each text, in one call."},
    {"locate", fastfold_locate, METH_VARARGS,
     "locate(norm, needle, whole, nwords, field) -> [(field, first, end, sentence)]."},
    {"configure", fastfold_configure, METH_VARARGS,
     "configure(fold_char, plurals): the character fold and the plural mapping to use."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastfold_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "rules._fastfold",
    .m_doc = "The article-text fold of rules.normalize in one C pass (see rules/_fastfold.c).",
    .m_size = -1,
    .m_methods = fastfold_methods,
};

PyMODINIT_FUNC PyInit__fastfold(void)
{
    for (int c = 0; c < 128; c++) {
        if (c >= '0' && c <= '9')
            ascii_fold[c] = (unsigned char)c;
        else if (c >= 'a' && c <= 'z')
            ascii_fold[c] = (unsigned char)c;
        else if (c >= 'A' && c <= 'Z')
            ascii_fold[c] = (unsigned char)(c - 'A' + 'a');
        else
            ascii_fold[c] = 0;
    }
    return PyModule_Create(&fastfold_module);
}
