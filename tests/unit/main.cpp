#define BOOST_TEST_MODULE nyxgate_unit_tests
#include <boost/test/unit_test.hpp>
