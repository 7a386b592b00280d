/*
 * The word sink between the C fold (rules/_fastfold.c) and the C word automaton
 * (rules/_wordscan.c): rules._wordscan exports this table as the capsule
 * "rules._wordscan._sink_api"; rules._fastfold.fold_scan(text, automaton, want_ids) imports it
 * and hands the automaton each folded word as it closes it, and each sentence break, so that
 * folding and scanning are one pass (the result is what scan_words / scan of the folded
 * string gives: a property test checks it). A scan is not reentrant (the automaton stamps
 * its nodes with the scan's generation): between begin and end the fold calls only the
 * character and plural folds of rules.normalize, which never scan.
 */
#ifndef NEWSWATCH_WORDSINK_H
#define NEWSWATCH_WORDSINK_H

#include <Python.h>

#define WORD_SINK_CAPSULE "rules._wordscan._sink_api"
#define WORD_SINK_API_VERSION 2

/* The hash of a word as the automaton's vocabulary keys it: h = 0, then this step for each
 * character. One rotate and xor (FNV's multiply is a serial 3-4 cycles a character). */
static inline uint64_t nw_word_step(uint64_t h, Py_UCS4 c)
{
    return ((h << 7) | (h >> 57)) ^ (uint64_t)c;
}

typedef struct {
    int version;
    PyTypeObject *type; /* WordAutomaton: begin() accepts only its instances */
    /* a scan of one text by `automaton` (ids of its words too if want_ids); NULL on error */
    void *(*begin)(PyObject *automaton, int want_ids);
    /* the next folded word (UCS4 characters) and its hash (nw_word_step), after those given
     * before; -1 on error */
    int (*word)(void *scan, const Py_UCS4 *word, Py_ssize_t len, uint64_t hash);
    /* a sentence break before the next word; -1 on error */
    int (*brk)(void *scan);
    /* ok: the result (the set of pattern ids seen, or (seen, ids bytes) with want_ids); not
     * ok: NULL. Frees the scan either way. */
    PyObject *(*end)(void *scan, int ok);
} WordSinkAPI;

#endif
