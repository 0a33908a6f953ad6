/*
 * test_manpage.c: docs/r2cache.1 keeps up with the binary. Every command that
 * `r2cache --help` lists has its own section, every option that
 * `r2cache CMD --help` prints appears in that section or under COMMON
 * OPTIONS, and no section describes a command that no longer exists. The
 * checker itself is shown to fail on a page with a command or option cut out.
 */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <criterion/criterion.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* The page as plain text: font escapes dropped, \- and \e resolved. */
static char *plain(const char *roff)
{
    size_t n = strlen(roff);
    char *out = malloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (roff[i] == '\\' && i + 1 < n) {
            char c = roff[i + 1];
            if (c == 'f' && i + 2 < n) {
                i += 2;
                continue;
            }
            if (c == '-') {
                out[j++] = '-';
                i++;
                continue;
            }
            if (c == 'e') {
                out[j++] = '\\';
                i++;
                continue;
            }
        }
        out[j++] = roff[i];
    }
    out[j] = '\0';
    return out;
}

/* Text from the line starting with head up to the next .SS or .SH line
 * (malloc'd), or NULL when there is no such line. */
static char *section(const char *page, const char *head)
{
    size_t hl = strlen(head);
    const char *p = page;
    while (p && *p) {
        if (strncmp(p, head, hl) == 0 && (p[hl] == '\n' || p[hl] == '\0')) break;
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || !*p) return NULL;
    const char *body = p + hl;
    const char *end = body;
    while ((end = strchr(end, '\n'))) {
        end++;
        if (strncmp(end, ".SS ", 4) == 0 || strncmp(end, ".SH ", 4) == 0) break;
    }
    size_t len = end ? (size_t)(end - body) : strlen(body);
    char *s = malloc(len + 1);
    memcpy(s, body, len);
    s[len] = '\0';
    return s;
}

/* "--name" present as a whole option name (not the prefix of a longer one). */
static int has_option(const char *text, const char *name)
{
    char pat[128];
    snprintf(pat, sizeof pat, "--%s", name);
    size_t pl = strlen(pat);
    for (const char *p = text; (p = strstr(p, pat)); p += pl) {
        char c = p[pl];
        if (!(isalnum((unsigned char)c) || c == '-')) return 1;
    }
    return 0;
}

/* Options a help text prints: the lines "  --name ...". */
static size_t help_options(const char *help, char names[][64], size_t cap)
{
    size_t n = 0;
    for (const char *l = help; l && *l && n < cap;
         l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, "  --", 4) != 0) continue;
        size_t k = 0;
        for (const char *q = l + 4; *q && !isspace((unsigned char)*q) && *q != '=' && k < 63; q++)
            names[n][k++] = *q;
        names[n][k] = '\0';
        n++;
    }
    return n;
}

/* Commands `r2cache --help` lists: the lines after "commands:" up to a blank one. */
static size_t help_commands(const char *help, char names[][32], size_t cap)
{
    const char *p = strstr(help, "\ncommands:\n");
    cr_assert(p, "r2cache --help has no commands: list");
    p += strlen("\ncommands:\n");
    size_t n = 0;
    while (*p == ' ' && n < cap) {
        while (*p == ' ')
            p++;
        size_t k = 0;
        while (*p && !isspace((unsigned char)*p) && k < 31)
            names[n][k++] = *p++;
        names[n++][k] = '\0';
        p = strchr(p, '\n');
        if (!p) break;
        p++;
    }
    return n;
}

static char *run_help(const char *cmd)
{
    char line[4300];
    snprintf(line, sizeof line, "%s %s --help", rc_test_bin("r2cache"), cmd ? cmd : "");
    rc_buf out = RC_BUF_INIT;
    int rc = rc_test_sh(line, &out, NULL);
    cr_assert_eq(rc, 0, "%s exited %d", line, rc);
    return rc_buf_steal(&out, NULL);
}

/*
 * The first thing the page lacks, written into why (empty when complete):
 * a command section, an option of a command, or a section for a command
 * the binary does not have. Returns 1 when something is missing.
 */
static int check_page(const char *page, char *why, size_t cap)
{
    why[0] = '\0';
    char *top = run_help(NULL);
    char cmds[32][32];
    size_t nc = help_commands(top, cmds, 32);
    free(top);
    cr_assert(nc >= 3, "r2cache --help lists only %zu commands", nc);
    char *common = section(page, ".SH COMMON OPTIONS");
    if (!common) {
        snprintf(why, cap, "no .SH COMMON OPTIONS section");
        return 1;
    }
    int bad = 0;
    for (size_t i = 0; i < nc && !bad; i++) {
        char head[64];
        snprintf(head, sizeof head, ".SS %s", cmds[i]);
        char *sec = section(page, head);
        if (!sec) {
            snprintf(why, cap, "command %s has no \"%s\" section", cmds[i], head);
            bad = 1;
            break;
        }
        char *help = run_help(cmds[i]);
        char opts[128][64];
        size_t no = help_options(help, opts, 128);
        if (no < 3) {
            snprintf(why, cap, "r2cache %s --help printed only %zu options", cmds[i], no);
            bad = 1;
        }
        for (size_t k = 0; k < no && !bad; k++)
            if (!has_option(sec, opts[k]) && !has_option(common, opts[k])) {
                snprintf(why, cap,
                         "option --%s of r2cache %s is documented neither in its "
                         "section nor under COMMON OPTIONS",
                         opts[k], cmds[i]);
                bad = 1;
            }
        free(help);
        free(sec);
    }
    /* no section for a command that is gone */
    for (const char *p = page; !bad && (p = strstr(p, "\n.SS ")); p++) {
        char name[64] = "";
        sscanf(p + 5, "%63s", name);
        int known = 0;
        for (size_t i = 0; i < nc; i++)
            known |= strcmp(cmds[i], name) == 0;
        if (!known) {
            snprintf(why, cap, "section .SS %s describes no command of r2cache --help", name);
            bad = 1;
        }
    }
    free(common);
    return bad;
}

static char *the_page(void)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/docs/r2cache.1", RC_SOURCE_DIR);
    rc_buf b = RC_BUF_INIT;
    cr_assert_eq(rc_test_read_file(path, &b), 0, "docs/r2cache.1 is missing");
    char *p = plain(b.data);
    rc_buf_free(&b);
    return p;
}

Test(manpage, documents_every_command_and_option)
{
    char *page = the_page();
    char why[512];
    int bad = check_page(page, why, sizeof why);
    cr_assert_eq(bad, 0, "docs/r2cache.1: %s", why);
    cr_assert(strstr(page, "--version"), "the page does not mention --version");
    cr_assert(strstr(page, ".SH EXIT STATUS"), "no EXIT STATUS section");
    for (int code = 0; code <= 3; code++) {
        char tp[16];
        snprintf(tp, sizeof tp, ".B %d\n", code);
        cr_assert(strstr(page, tp), "exit status %d is not documented", code);
    }
    free(page);
}

/* The checker must catch a missing option and a missing command. */
Test(manpage, checker_fails_when_something_is_cut)
{
    char *page = the_page();
    char why[512];
    /* rename every --lookback so it no longer matches */
    char *cut = strdup(page);
    for (char *p = cut; (p = strstr(p, "--lookback")); p += 10)
        memcpy(p, "--lookbock", 10);
    cr_assert_eq(check_page(cut, why, sizeof why), 1);
    cr_assert_str_eq(why, "option --lookback of r2cache run is documented neither in its "
                          "section nor under COMMON OPTIONS");
    free(cut);

    cut = strdup(page);
    char *s = strstr(cut, "\n.SS fill\n");
    cr_assert(s);
    memcpy(s, "\n.SS xxxx\n", 10);
    cr_assert_eq(check_page(cut, why, sizeof why), 1);
    cr_assert_str_eq(why, "command fill has no \".SS fill\" section");
    free(cut);

    /* a common option dropped from COMMON OPTIONS is caught where no section has it */
    cut = strdup(page);
    for (char *p = cut; (p = strstr(p, "--log-format")); p += 12)
        memcpy(p, "--log-fermat", 12);
    cr_assert_eq(check_page(cut, why, sizeof why), 1);
    cr_assert(strstr(why, "option --log-format of r2cache run"), "%s", why);
    free(cut);
    free(page);
}

/* groff renders the page without a warning (when groff is installed). */
Test(manpage, renders_cleanly)
{
    rc_buf out = RC_BUF_INIT, err = RC_BUF_INIT;
    if (rc_test_sh("command -v groff", &out, NULL) != 0)
        cr_skip_test("SKIPPED: groff is not installed, rendering not checked");
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "groff -man -ww -z '%s/docs/r2cache.1'", RC_SOURCE_DIR);
    int rc = rc_test_sh(cmd, NULL, &err);
    cr_assert_eq(rc, 0);
    cr_assert_eq(err.len, 0, "groff warnings: %s", err.data);
    rc_buf_free(&out);
    rc_buf_free(&err);
}

/* contrib/bash-completion/r2cache offers every command and every option. */
Test(manpage, bash_completion_follows_help)
{
    char cmd[8800];
    snprintf(cmd, sizeof cmd,
             "bash -c 'source \"%s/contrib/bash-completion/r2cache\"; "
             "COMP_WORDS=(\"%s\" \"\"); COMP_CWORD=1; _r2cache; echo \"${COMPREPLY[*]}\"; "
             "COMP_WORDS=(\"%s\" run --); COMP_CWORD=2; _r2cache; echo \"${COMPREPLY[*]}\"; "
             "COMP_WORDS=(\"%s\" run --log-level \"\"); COMP_CWORD=3; _r2cache; "
             "echo \"${COMPREPLY[*]}\"'",
             RC_SOURCE_DIR, rc_test_bin("r2cache"), rc_test_bin("r2cache"), rc_test_bin("r2cache"));
    rc_buf out = RC_BUF_INIT;
    cr_assert_eq(rc_test_sh(cmd, &out, NULL), 0);
    char *l1 = out.data, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    char *top = run_help(NULL);
    char cmds[32][32];
    size_t nc = help_commands(top, cmds, 32);
    free(top);
    for (size_t i = 0; i < nc; i++) {
        char w[40];
        snprintf(w, sizeof w, " %s ", cmds[i]);
        char line[4096];
        snprintf(line, sizeof line, " %.*s ", (int)(l2 - l1 - 1), l1);
        cr_assert(strstr(line, w), "completion lacks command %s: %s", cmds[i], line);
    }
    char *help = run_help("run");
    char opts[128][64];
    size_t no = help_options(help, opts, 128);
    free(help);
    for (size_t k = 0; k < no; k++) {
        char w[80], line[4096];
        snprintf(w, sizeof w, " --%s ", opts[k]);
        snprintf(line, sizeof line, " %.*s ", (int)(l3 - l2 - 1), l2);
        cr_assert(strstr(line, w), "completion lacks run option --%s: %s", opts[k], line);
    }
    cr_assert_str_eq(l3, "debug info warn error\n");
    rc_buf_free(&out);
}
