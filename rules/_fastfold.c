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
 * Only the mechanics are here. What a character folds to and what a plural folds to stay
 * defined in Python (normalize.fold_char, normalize.fold_plural): configure() hands this
 * module those two functions, and they are called for the characters and words that need
 * them (non-ASCII characters, words of four or more characters ending in "s"; every other
 * word is its own singular by fold_plural's first test). So there is one definition of
 * "the same word", and a property test checks that both paths agree. fold_char also says
 * which characters are sentence marks (it returns "." for a full stop, "!" for the others).
 *
 * Does no I/O.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

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

static int grow_out(Fold *f, Py_ssize_t extra)
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

static int push_span(Fold *f, Py_ssize_t start, Py_ssize_t end)
{
    if (f->nspans + 2 > f->spans_cap) {
        Py_ssize_t cap = f->spans_cap ? f->spans_cap * 2 : 256;
        int32_t *spans = PyMem_Realloc(f->spans, (size_t)cap * sizeof(int32_t));
        if (spans == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        f->spans = spans;
        f->spans_cap = cap;
    }
    f->spans[f->nspans++] = (int32_t)start;
    f->spans[f->nspans++] = (int32_t)end;
    return 0;
}

/* Close the current word, if any: fold a possible plural, record its span, add a space. */
static int end_word(Fold *f)
{
    if (!f->in_word)
        return 0;
    f->in_word = 0;
    Py_ssize_t wlen = f->len - f->word_at;
    if (wlen >= 4 && f->out[f->len - 1] == 's') {
        PyObject *word =
            PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, f->out + f->word_at, wlen);
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
    }
    if (push_span(f, f->src_start, f->src_last + 1) < 0)
        return -1;
    f->last_len = f->len - f->word_at;
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

static int word_char(Fold *f, Py_UCS4 c, Py_ssize_t i)
{
    /* room for a break's extra space, this character and the space end_word adds after it */
    if (f->len + 3 > f->cap && grow_out(f, 3) < 0)
        return -1;
    if (!f->in_word) {
        if (f->brk && f->nspans)
            f->out[f->len++] = ' '; /* a sentence break: a double space before the word */
        f->mark = f->brk = 0;
        f->in_word = 1;
        f->word_at = f->len;
        f->src_start = i;
    }
    f->src_last = i;
    f->out[f->len++] = c;
    return 0;
}

static PyObject *fastfold_fold(PyObject *module, PyObject *text)
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
    f.cap = n + 16;
    f.out = PyMem_Malloc((size_t)f.cap * sizeof(Py_UCS4));
    if (f.out == NULL)
        return PyErr_NoMemory();
    f.out[f.len++] = ' ';
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 128) {
            unsigned char a = ascii_fold[c];
            if (a) {
                if (word_char(&f, a, i) < 0)
                    goto error;
                continue;
            }
            if (end_word(&f) < 0)
                goto error;
            gap_char(&f, c, c == '.' ? '.' : (c == '!' || c == '?' || c == ':' || c == ';') ? '!' : ' ');
            continue;
        }
        PyObject *folded = fold_of(c);
        if (folded == NULL)
            goto error;
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
            if (end_word(&f) < 0)
                goto error;
            gap_char(&f, c, d);
            continue;
        }
        for (Py_ssize_t k = 0; k < m; k++) {
            Py_UCS4 d = PyUnicode_READ(fkind, fdata, k);
            if (d == ' ' ? end_word(&f) : word_char(&f, d, i)) {
                Py_DECREF(folded);
                goto error;
            }
        }
        Py_DECREF(folded);
    }
    if (end_word(&f) < 0)
        goto error;
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
    Py_RETURN_NONE;
}

static PyMethodDef fastfold_methods[] = {
    {"fold", fastfold_fold, METH_O,
     "fold(text) -> (norm, spans): normalised words of text and their offsets in it."},
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
