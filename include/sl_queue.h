/* sl_queue.h - the TAILQ lists of <sys/queue.h> (glibc, the BSDs, OpenWrt's
 * musl). Plain musl ships no such header, so there the few macros sluice
 * uses are defined here, as 4.4BSD defines them; configure looks for the
 * header (HAVE_SYS_QUEUE_H). SL_OWN_TAILQ forces these, to test them. */
#ifndef SL_QUEUE_H
#define SL_QUEUE_H

#if defined(HAVE_SYS_QUEUE_H) && !defined(SL_OWN_TAILQ)
#include <sys/queue.h>
#endif

#ifndef TAILQ_HEAD
#include <stddef.h>

#define TAILQ_HEAD(name, type)                                                                     \
	struct name {                                                                              \
		struct type *tqh_first;                                                            \
		struct type **tqh_last;                                                            \
	}

#define TAILQ_ENTRY(type)                                                                          \
	struct {                                                                                   \
		struct type *tqe_next;                                                             \
		struct type **tqe_prev;                                                            \
	}

#define TAILQ_INIT(head)                                                                           \
	do {                                                                                       \
		(head)->tqh_first = NULL;                                                          \
		(head)->tqh_last = &(head)->tqh_first;                                             \
	} while (0)

#define TAILQ_EMPTY(head) ((head)->tqh_first == NULL)
#define TAILQ_FIRST(head) ((head)->tqh_first)
#define TAILQ_NEXT(elm, field) ((elm)->field.tqe_next)

#define TAILQ_FOREACH(var, head, field)                                                            \
	for ((var) = TAILQ_FIRST(head); (var); (var) = TAILQ_NEXT(var, field))

#define TAILQ_INSERT_TAIL(head, elm, field)                                                        \
	do {                                                                                       \
		(elm)->field.tqe_next = NULL;                                                      \
		(elm)->field.tqe_prev = (head)->tqh_last;                                          \
		*(head)->tqh_last = (elm);                                                         \
		(head)->tqh_last = &(elm)->field.tqe_next;                                         \
	} while (0)

#define TAILQ_REMOVE(head, elm, field)                                                             \
	do {                                                                                       \
		if ((elm)->field.tqe_next != NULL)                                                 \
			(elm)->field.tqe_next->field.tqe_prev = (elm)->field.tqe_prev;             \
		else                                                                               \
			(head)->tqh_last = (elm)->field.tqe_prev;                                  \
		*(elm)->field.tqe_prev = (elm)->field.tqe_next;                                    \
	} while (0)
#endif

#endif
