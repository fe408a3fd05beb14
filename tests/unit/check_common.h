/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef HM_CHECK_COMMON_H
#define HM_CHECK_COMMON_H

#include <check.h>
#include <stdlib.h>

/* one test case per test function, named after it */
#define add_tcase(suite, func) do {				\
	TCase *tc_ = tcase_create(#func);			\
	tcase_add_test(tc_, func);				\
	suite_add_tcase((suite), tc_);				\
} while (0)

#define add_tcase_fixture(suite, func, setup, teardown) do {	\
	TCase *tc_ = tcase_create(#func);			\
	tcase_add_checked_fixture(tc_, (setup), (teardown));	\
	tcase_add_test(tc_, func);				\
	suite_add_tcase((suite), tc_);				\
} while (0)

static inline int hm_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
