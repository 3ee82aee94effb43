/*
 * wordfreq.cpp: a module written in C++. It counts the words of the
 * request body and answers with the most frequent ones:
 *
 *	POST /wordfreq?top=3	(text in the body)
 *
 * What a C++ module has to keep in mind, all shown below:
 *
 * - main() is the only export: g++ leaves its name unmangled, and the host
 *   calls it once per request, in the worker that loaded the module;
 * - no exception may leave main(): the host is C and cannot unwind them.
 *   serve() may throw; main() catches everything and turns it into an
 *   answer (400 for bad input, 500 otherwise), logged with wc_log();
 * - the response is built in a std::ostringstream and written at the end,
 *   so an exception thrown halfway sends no half response;
 * - std::cin and std::cout are global objects that live as long as the
 *   worker: std::cin keeps its end-of-file state from the previous
 *   request unless it is cleared, and std::cout must be flushed before
 *   main() returns (the host also flushes what reaches descriptor 1);
 * - function-local statics are built once per worker, like the stop
 *   words here: that is the cache (compare examples/regex_cache).
 *
 * Build: g++ -shared -fPIC -O2 -I../../handlers wordfreq.cpp -o wordfreq.so
 */
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "warmcgi.h"

namespace {

/* Bad input from the client: a 400, not a 500. */
struct bad_request : std::runtime_error {
	using std::runtime_error::runtime_error;
};

/* Built once per worker, on its first request. */
const std::unordered_set<std::string> &
stop_words()
{
	static const std::unordered_set<std::string> words{
		"a", "an", "and", "in", "is", "it", "of", "on", "the", "to",
	};
	return words;
}

unsigned long	served;		/* requests this worker served */

std::string
env(const char *name)
{
	const char	*v = std::getenv(name);

	return v ? v : "";
}

/* The value of key in the query string, or def. */
int
query_int(const std::string &key, int def)
{
	std::istringstream	 qs(env("QUERY_STRING"));
	std::string		 pair;

	while (std::getline(qs, pair, '&')) {
		if (pair.compare(0, key.size() + 1, key + "=") != 0)
			continue;
		try {
			std::size_t	 used;
			int		 v = std::stoi(pair.substr(key.size() + 1),
					    &used);

			if (v <= 0 || used != pair.size() - key.size() - 1)
				throw bad_request(key + " must be a positive "
				    "number");
			return v;
		} catch (const std::logic_error &) {
			/* std::stoi: invalid_argument, out_of_range. */
			throw bad_request(key + " must be a positive number");
		}
	}
	return def;
}

std::string
read_body()
{
	std::cin.clear();	/* the previous request left it at EOF */
	return std::string(std::istreambuf_iterator<char>(std::cin),
	    std::istreambuf_iterator<char>());
}

std::string
serve()
{
	std::map<std::string, int>	 counts;
	std::istringstream		 in(read_body());
	std::string			 word;
	std::ostringstream		 out;
	int				 top = query_int("top", 5);

	if (env("REQUEST_METHOD") != "POST")
		throw bad_request("POST some text");
	while (in >> word) {
		std::string w;

		for (char ch : word)
			if (std::isalnum(static_cast<unsigned char>(ch)))
				w += static_cast<char>(std::tolower(
				    static_cast<unsigned char>(ch)));
		if (!w.empty() && !stop_words().count(w))
			counts[w]++;
	}
	std::vector<std::pair<std::string, int>> v(counts.begin(),
	    counts.end());
	std::stable_sort(v.begin(), v.end(), [](const auto &a,
	    const auto &b) { return a.second > b.second; });
	if (v.size() > static_cast<std::size_t>(top))
		v.resize(static_cast<std::size_t>(top));
	out << "Content-Type: text/plain; charset=utf-8\r\n\r\n";
	for (const auto &p : v)
		out << p.second << ' ' << p.first << '\n';
	out << "-- " << counts.size() << " distinct words; request " <<
	    ++served << " of this worker\n";
	return out.str();
}

void
answer(int status, const char *reason, const std::string &text)
{
	std::cout << "Status: " << status << ' ' << reason << "\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n" << text << '\n';
}

void
respond()
{
	try {
		std::cout << serve();
	} catch (const bad_request &e) {
		answer(400, "Bad Request", e.what());
	} catch (const std::exception &e) {
		wc_log(WC_ERROR, "wordfreq: %s", e.what());
		answer(500, "Internal Server Error", "internal error");
	}
}

}	/* namespace */

int
main()
{
	try {
		respond();
	} catch (...) {
		/* Anything else, even from the error answers (bad_alloc). */
		std::cout << "Status: 500 Internal Server Error\r\n\r\n";
	}
	std::cout.flush();
	return 0;
}
