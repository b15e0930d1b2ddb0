/* test_base.c - errors, vectors and the u64 map. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/gh_base.h"

START_TEST(test_error_wrap_keeps_code_and_addr)
{
	struct gh_error *err = gh_error_fault(0xc000123000, "address 0x%x is not mapped", 0x10);
	ck_assert_ptr_nonnull(err);
	err = gh_error_wrap(err, "reading span %d", 7);
	err = gh_error_wrap(err, "loading heap");
	ck_assert_int_eq(err->code, GH_ERR_FAULT);
	ck_assert(err->has_addr);
	ck_assert_uint_eq(err->addr, 0xc000123000);
	ck_assert_str_eq(err->msg, "loading heap: reading span 7: address 0x10 is not mapped");
	gh_error_free(err);
}
END_TEST

START_TEST(test_error_static_untouched)
{
	struct gh_error *err = gh_error_wrap(&gh_enomem, "context");
	ck_assert_ptr_eq(err, &gh_enomem);
	ck_assert_str_eq(err->msg, "out of memory");
	gh_error_free(err);	/* must not free a static */
	gh_error_free(NULL);
}
END_TEST

START_TEST(test_error_os)
{
	struct gh_error *err = gh_error_os(2, "/nope", "opening core");
	ck_assert_int_eq(err->code, GH_ERR_OS);
	ck_assert_int_eq(err->errnum, 2);
	ck_assert_str_eq(err->msg, "opening core '/nope': No such file or directory");
	gh_error_free(err);
}
END_TEST

GH_VEC(int_vec, int)

START_TEST(test_vec_grows)
{
	struct int_vec v = {0};
	for (int i = 0; i < 10000; i++)
		ck_assert(int_vec_push(&v, i));
	ck_assert_uint_eq(v.n, 10000);
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(v.data[i], i);
	int_vec_deinit(&v);
	ck_assert_ptr_null(v.data);
}
END_TEST

START_TEST(test_map_many)
{
	struct gh_u64_map m;
	uint32_t val;

	gh_u64_map_init(&m);
	ck_assert(!gh_u64_map_get(&m, 5, &val));
	for (uint32_t i = 0; i < 100000; i++)
		ck_assert(gh_u64_map_put(&m, 0xc000000000ull + (uint64_t)i * 8192, i));
	ck_assert(gh_u64_map_put(&m, 0xc000000000ull, 42));	/* overwrite */
	ck_assert_uint_eq(m.n, 100000);
	ck_assert(gh_u64_map_get(&m, 0xc000000000ull, &val));
	ck_assert_uint_eq(val, 42);
	for (uint32_t i = 1; i < 100000; i++) {
		ck_assert(gh_u64_map_get(&m, 0xc000000000ull + (uint64_t)i * 8192, &val));
		ck_assert_uint_eq(val, i);
	}
	ck_assert(!gh_u64_map_get(&m, 1, &val));
	ck_assert(!gh_u64_map_put(&m, UINT64_MAX, 1));
	gh_u64_map_deinit(&m);
}
END_TEST

START_TEST(test_overflow_checks)
{
	uint64_t r;
	ck_assert(gh_add_overflow_u64(UINT64_MAX, 1, &r));
	ck_assert(!gh_add_overflow_u64(1, 2, &r));
	ck_assert_uint_eq(r, 3);
	ck_assert(gh_mul_overflow_u64(1ull << 40, 1ull << 40, &r));
	ck_assert(gh_malloc_array(SIZE_MAX / 2, 4) == NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("base");
	TCase *tc = tcase_create("base");
	tcase_add_test(tc, test_error_wrap_keeps_code_and_addr);
	tcase_add_test(tc, test_error_static_untouched);
	tcase_add_test(tc, test_error_os);
	tcase_add_test(tc, test_vec_grows);
	tcase_add_test(tc, test_map_many);
	tcase_add_test(tc, test_overflow_checks);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
