#define BOOST_TEST_MODULE nyxgate_integration_tests
#include <boost/test/unit_test.hpp>
