/* The DOT pictures of `leakgraph graph` (see graph.h). One DOT digraph with a cluster per record:
 *   - a cycle: its members (type@n, size, refcount, allocation site) and the references among
 *     them (label on the edge; a pointer the type's traverse does not report is dashed red);
 *   - a refcount leak: the leaked object, its referrers up to REFERRER_DEPTH levels back (the
 *     walk's edges reversed), holders as one "roots" node, and a red "unexplained xN" node.
 * It only writes DOT; the command (cli/cmd_graph.c) also makes the SVG with Graphviz. */
#define _GNU_SOURCE
#include "graph.h"
#include "path.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- tunables -------------------------------------------------------------------------- */
#define REFERRER_DEPTH 4    /* levels of referrers drawn back from a leaked object */
#define REFERRER_MAX 64     /* referrers drawn per chart at most */
/* ---------------------------------------------------------------------------------------- */

static void dot_esc(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', out);
        fputc(*s, out);
    }
}

static void node_label(FILE *out, lg_leakset_t *ls, size_t ti, const lg_objects_t *ob, uint32_t v,
                       const char *name)
{
    const lg_onode_t *x = &ob->nodes[v];
    lg_frame_t f;
    fputs("label=\"", out);
    dot_esc(out, name);
    fprintf(out, "\\n%" PRIu64 " bytes, refcount %" PRId64, x->size, x->refcount);
    if (x->stack && lg_objects_site(ls, ti, x->stack, x->aseq, &f, NULL) && f.function) {
        fputs("\\nallocated in ", out);
        dot_esc(out, f.function);
        if (f.file && f.line) {
            fprintf(out, " (%s:%d)", lg_basename(f.file), f.line);
        }
    }
    fputc('"', out);
}

static void dot_cycle(FILE *out, lg_leakset_t *ls, size_t ti, const lg_objects_t *ob, size_t g)
{
    const lg_trace_t *t = &ls->traces[ti];
    const lg_ogroup_t *gr = &ob->cgroups[g];
    const lg_ocycle_t *cy = &ob->cycles[gr->first];
    char why[512], lab[160], name[128];
    fprintf(out, "  subgraph cluster_p%d_cycle%zu {\n    label=\"pid %d: uncollected cycle%s", t->pid,
            g + 1, t->pid, gr->count > 1 ? "s" : "");
    if (gr->count > 1) fprintf(out, " (x%" PRIu64 ")", gr->count);
    fputs("\\n", out);
    dot_esc(out, lg_objects_why(ob, t, cy, why, sizeof why));
    fputs("\";\n    fontsize=10;\n", out);
    for (size_t m = 0; m < cy->nmembers; m++) {
        uint32_t v = cy->members[m];
        snprintf(name, sizeof name, "%s@%zu", t->types[ob->nodes[v].type < t->ntypes ? ob->nodes[v].type : 0], m + 1);
        fprintf(out, "    p%d_c%zu_n%u [shape=box,", t->pid, g + 1, v);
        node_label(out, ls, ti, ob, v, name);
        fputs("];\n", out);
    }
    /* every reference among members (the walk's, and the hidden ones on the path) */
    for (size_t m = 0; m < cy->nmembers; m++) {
        uint32_t v = cy->members[m];
        const lg_onode_t *x = &ob->nodes[v];
        for (size_t r = x->ref_start; r < x->ref_end; r++) {
            for (size_t k = 0; k < cy->nmembers; k++) {
                if (ob->nodes[cy->members[k]].addr != ob->walk->refs[r].to) continue;
                lg_ostep_t st = {v, cy->members[k], r, 0};
                fprintf(out, "    p%d_c%zu_n%u -> p%d_c%zu_n%u [label=\"", t->pid, g + 1, v, t->pid,
                        g + 1, cy->members[k]);
                dot_esc(out, lg_objects_step(ob, t, &st, lab, sizeof lab));
                fputs("\"];\n", out);
            }
        }
    }
    for (size_t p = 0; p < cy->npath; p++) {
        if (cy->path[p].ref != SIZE_MAX) continue;
        fprintf(out, "    p%d_c%zu_n%u -> p%d_c%zu_n%u [style=dashed,color=red,fontcolor=red,label=\"",
                t->pid, g + 1, cy->path[p].from, t->pid, g + 1, cy->path[p].to);
        dot_esc(out, lg_objects_step(ob, t, &cy->path[p], lab, sizeof lab));
        fputs("\"];\n", out);
    }
    fputs("  }\n", out);
}

static void dot_referrers(FILE *out, lg_leakset_t *ls, size_t ti, const lg_objects_t *ob, size_t l)
{
    const lg_trace_t *t = &ls->traces[ti];
    const lg_oleak_t *lk = &ob->leaks[l];
    char name[128], lab[160];
    uint32_t *seen = calloc(ob->n ? ob->n : 1, sizeof *seen); /* depth + 1 */
    uint32_t *q = malloc((ob->n ? ob->n : 1) * sizeof *q);
    if (!seen || !q) {
        free(seen), free(q);
        return;
    }
    fprintf(out, "  subgraph cluster_p%d_leak%zu {\n    label=\"pid %d: %" PRId64
                 " unexplained reference(s) to %s\";\n    fontsize=10;\n",
            t->pid, l + 1, t->pid, lk->unexplained, lg_objects_name(ob, t, lk->node, name, sizeof name));
    size_t head = 0, tail = 0, drawn = 0;
    q[tail++] = lk->node;
    seen[lk->node] = 1;
    while (head < tail) {
        uint32_t v = q[head++];
        const lg_onode_t *x = &ob->nodes[v];
        fprintf(out, "    p%d_l%zu_n%u [shape=box,%s", t->pid, l + 1, v,
                v == lk->node ? "color=red," : "");
        node_label(out, ls, ti, ob, v, lg_objects_name(ob, t, v, name, sizeof name));
        fputs("];\n", out);
        if (x->roots + x->blocks)
            fprintf(out, "    p%d_l%zu_r%u [shape=ellipse,label=\"roots / malloc blocks\"];\n"
                         "    p%d_l%zu_r%u -> p%d_l%zu_n%u [label=\"x%" PRIu64 "\"];\n",
                    t->pid, l + 1, v, t->pid, l + 1, v, t->pid, l + 1, v, x->roots + x->blocks);
        if (seen[v] > REFERRER_DEPTH) continue;
        /* referrers: objects with a reference to v (a scan of the walk: charts are small) */
        for (uint32_t u = 0; u < ob->n && drawn < REFERRER_MAX; u++) {
            const lg_onode_t *y = &ob->nodes[u];
            for (size_t r = y->ref_start; r < y->ref_end; r++) {
                if (ob->walk->refs[r].to != x->addr) continue;
                lg_ostep_t st = {u, v, r, 0};
                fprintf(out, "    p%d_l%zu_n%u -> p%d_l%zu_n%u [label=\"", t->pid, l + 1, u, t->pid,
                        l + 1, v);
                dot_esc(out, lg_objects_step(ob, t, &st, lab, sizeof lab));
                fputs("\"];\n", out);
                if (!seen[u]) {
                    seen[u] = seen[v] + 1;
                    q[tail++] = u;
                    drawn++;
                }
            }
        }
    }
    fprintf(out, "    p%d_l%zu_u [shape=octagon,color=red,fontcolor=red,label=\"unexplained x%" PRId64
                 "\"];\n    p%d_l%zu_u -> p%d_l%zu_n%u [style=dashed,color=red];\n  }\n",
            t->pid, l + 1, lk->unexplained, t->pid, l + 1, t->pid, l + 1, lk->node);
    free(seen), free(q);
}

int lg_graph_dot(FILE *out, lg_leakset_t *ls)
{
    fputs("digraph leakgraph {\n  node [fontname=\"monospace\",fontsize=10];\n"
          "  edge [fontname=\"monospace\",fontsize=9];\n",
          out);
    for (size_t ti = 0; ti < ls->ntraces; ti++) {
        const lg_objects_t *ob = ls->objs ? ls->objs[ti] : NULL;
        for (size_t g = 0; ob && g < ob->ncgroups; g++) dot_cycle(out, ls, ti, ob, g);
        /* one chart per refcount record (its first object) */
        for (size_t g = 0; ob && g < ob->nlgroups; g++) dot_referrers(out, ls, ti, ob, ob->lgroups[g].first);
    }
    fputs("}\n", out);
    return ferror(out) ? -EIO : 0;
}
