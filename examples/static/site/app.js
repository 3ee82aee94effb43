// app.js: says which of nginx and warmcgi served this page.
document.addEventListener("DOMContentLoaded", function () {
	var p = document.createElement("footer");
	fetch(location.href, { method: "HEAD" }).then(function (r) {
		p.textContent = "ETag " + r.headers.get("ETag") +
		    ", Cache-Control " + r.headers.get("Cache-Control");
		document.body.appendChild(p);
	});
});
