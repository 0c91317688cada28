/* Live tests (real dockerd): image inspect and pull failures (no registry is reachable here). */
#include "live_support.h"

static void local_image_inspects(void **state)
{
    char err[512] = "";
    cJSON *img = NULL;

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(docker_image_inspect(live, LIVE_IMAGE, &img, err, sizeof err), 0);
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(img, "Id")));
    cJSON_Delete(img);
}

static void missing_image_is_notfound_with_the_pull_command(void **state)
{
    char err[512] = "";

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(
        docker_image_inspect(live, "flamed-test/no-such-image:nope", NULL, err, sizeof err),
        FLAME_ENOTFOUND);
    assert_non_null(strstr(err, "docker pull flamed-test/no-such-image:nope"));
}

static void pull_of_a_nonexistent_image_fails_quickly_with_a_detail(void **state)
{
    char err[512] = "";
    double t0 = live_now_s();
    int rc;

    (void)state;
    LIVE_REQUIRE();
    rc = docker_image_pull(live, "flamed-test/fltest-dk-no-such-image:v0", NULL, 20000, NULL, NULL, err,
                           sizeof err);
    if (rc != FLAME_ENOTFOUND && rc != FLAME_EUNAVAILABLE)
        fail_msg("pull: %d (%s)", rc, err);
    assert_true(strlen(err) > 10);
    assert_non_null(strstr(err, "flamed-test/fltest-dk-no-such-image:v0"));
    assert_true(live_now_s() - t0 < 30.0);
}

static void pull_of_an_invalid_reference_is_invalid(void **state)
{
    char err[512] = "";

    (void)state;
    LIVE_REQUIRE();
    assert_int_equal(docker_image_pull(live, "Flamed-Test/UPPER", NULL, 0, NULL, NULL, err, sizeof err),
                     FLAME_EINVALID);
    assert_true(err[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(local_image_inspects),
        cmocka_unit_test(missing_image_is_notfound_with_the_pull_command),
        cmocka_unit_test(pull_of_a_nonexistent_image_fails_quickly_with_a_detail),
        cmocka_unit_test(pull_of_an_invalid_reference_is_invalid),
    };
    return LIVE_RESULT(cmocka_run_group_tests(tests, live_group_setup, live_group_teardown));
}
