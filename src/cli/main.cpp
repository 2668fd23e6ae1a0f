#include "mailtrack/cli/cli.hpp"

int main(int argc, char** argv) {
    return mailtrack::cli::run(argc, argv);
}
