/*
 * Unit tests: the canonical reading of BootRequest.placement
 * (service/boot_placement.h). Pure: no I/O.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flame/error.h"
#include "service/boot_placement.h"

/* Read constraints (NULL-terminated) and spreads (NULL-terminated) into *out's printed JSON. */
static int read_pl(char **constraints, char **spreads, char **printed, char *err, size_t errlen)
{
    Flame__V1__Placement pl = FLAME__V1__PLACEMENT__INIT;
    Flame__V1__PlacementPreference prefs[16], *pp[16];
    while (constraints && constraints[pl.n_constraints])
        pl.n_constraints++;
    pl.constraints = constraints;
    while (spreads && spreads[pl.n_preferences]) {
        flame__v1__placement_preference__init(&prefs[pl.n_preferences]);
        prefs[pl.n_preferences].spread = spreads[pl.n_preferences];
        pp[pl.n_preferences] = &prefs[pl.n_preferences];
        pl.n_preferences++;
    }
    pl.preferences = pp;
    cJSON *out = NULL;
    int rc = boot_placement_read(&out, &pl, err, errlen);
    *printed = out ? cJSON_PrintUnformatted(out) : NULL;
    cJSON_Delete(out);
    return rc;
}

static void constraints_and_spreads_are_printed_from_their_parts(void **state)
{
    (void)state;
    char *c[] = {"node.labels.zone==eu-1", " node.role != manager ", "engine.labels.disk==ssd",
                 "node.hostname==vm2", "node.platform.arch!=aarch64", NULL};
    char *sp[] = {"node.labels.zone", "engine.labels.rack", NULL};
    char *printed = NULL, err[512] = "";
    assert_int_equal(read_pl(c, sp, &printed, err, sizeof(err)), 0);
    assert_string_equal(printed,
                        "{\"Constraints\":[\"node.labels.zone==eu-1\",\"node.role!=manager\","
                        "\"engine.labels.disk==ssd\",\"node.hostname==vm2\","
                        "\"node.platform.arch!=aarch64\"],\"Preferences\":["
                        "{\"Spread\":{\"SpreadDescriptor\":\"node.labels.zone\"}},"
                        "{\"Spread\":{\"SpreadDescriptor\":\"engine.labels.rack\"}}]}");
    free(printed);
}

static void no_placement_is_null(void **state)
{
    (void)state;
    cJSON *out = (void *)1;
    char err[64];
    assert_int_equal(boot_placement_read(&out, NULL, err, sizeof(err)), 0);
    assert_null(out);
    Flame__V1__Placement pl = FLAME__V1__PLACEMENT__INIT;
    out = (void *)1;
    assert_int_equal(boot_placement_read(&out, &pl, err, sizeof(err)), 0);
    assert_null(out);
    assert_false(boot_placement_given(&pl));
}

static void bad_constraints_are_refused_naming_the_entry(void **state)
{
    (void)state;
    static const struct {
        const char *c, *want;
    } cases[] = {
        {"", "1 to 256 bytes"},
        {"node.labels.zone", "one operator"},
        {"node.labels.zone=a", "one operator"},
        {"node.labels.zone==a==b", "one operator"},
        {"node.labels.zone==a!=b", "one operator"},
        {"node.labels.zone>=a", "one operator"},
        {"NODE.ROLE==manager", "not a node attribute"},
        {"Node.Labels.zone==a", "not a node attribute"},
        {"node.labels.==a", "not a node attribute"},
        {"node.labels.zo ne==a", "not a node attribute"},
        {"node.ip==10.0.0.1", "not a node attribute"},
        {"container.labels.x==a", "not a node attribute"},
        {"node.labels.zone==", "the value"},
        {"node.labels.zone==a b", "the value"},
        {"node.labels.zone==a\"b", "the value"},
        {"node.labels.zone==\xc3\xa9", "the value"},
        {"node.labels.zone==a,b", "the value"},
        {"node.role==Manager", "manager or worker"},
        {"node.role==admin", "manager or worker"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *c[] = {"node.labels.ok==1", (char *)cases[i].c, NULL};
        char *printed = NULL, err[512] = "";
        int rc = read_pl(c, NULL, &printed, err, sizeof(err));
        if (rc != FLAME_EINVALID || !strstr(err, cases[i].want) ||
            !strstr(err, "placement.constraints[1]"))
            fail_msg("'%s': rc %d err '%s', want '%s'", cases[i].c, rc, err, cases[i].want);
        assert_null(printed);
    }
}

static void bad_spreads_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {"", "node.id", "node.hostname", "node.labels.", "zone", "node.labels.a b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *sp[] = {(char *)bad[i], NULL};
        char *printed = NULL, err[512] = "";
        int rc = read_pl(NULL, sp, &printed, err, sizeof(err));
        if (rc != FLAME_EINVALID || !strstr(err, "placement.preferences[0].spread"))
            fail_msg("spread '%s': rc %d err '%s'", bad[i], rc, err);
        assert_null(printed);
    }
}

static void sizes_are_bounded(void **state)
{
    (void)state;
    char *c[BOOT_PLACEMENT_CONSTRAINTS_MAX + 2], *printed = NULL, err[512] = "";
    for (int i = 0; i <= BOOT_PLACEMENT_CONSTRAINTS_MAX; i++)
        c[i] = "node.labels.a==b";
    c[BOOT_PLACEMENT_CONSTRAINTS_MAX + 1] = NULL;
    assert_int_equal(read_pl(c, NULL, &printed, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "at most 32"));
    c[BOOT_PLACEMENT_CONSTRAINTS_MAX] = NULL;
    assert_int_equal(read_pl(c, NULL, &printed, err, sizeof(err)), 0);
    free(printed);
    char *sp[BOOT_PLACEMENT_PREFERENCES_MAX + 2];
    for (int i = 0; i <= BOOT_PLACEMENT_PREFERENCES_MAX; i++)
        sp[i] = "node.labels.a";
    sp[BOOT_PLACEMENT_PREFERENCES_MAX + 1] = NULL;
    assert_int_equal(read_pl(NULL, sp, &printed, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "at most 8"));
    char big[BOOT_PLACEMENT_ITEM_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "node.labels.a==", 15);
    char *one[] = {big, NULL};
    assert_int_equal(read_pl(one, NULL, &printed, err, sizeof(err)), FLAME_EINVALID);
    assert_non_null(strstr(err, "1 to 256 bytes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constraints_and_spreads_are_printed_from_their_parts),
        cmocka_unit_test(no_placement_is_null),
        cmocka_unit_test(bad_constraints_are_refused_naming_the_entry),
        cmocka_unit_test(bad_spreads_are_refused),
        cmocka_unit_test(sizes_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
