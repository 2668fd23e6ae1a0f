#include "mailtrack/store/store.hpp"
