// Starts Swagger UI on /api/docs. A served file rather than an inline script, so
// the Content-Security-Policy can forbid inline scripts (classquiz/security_headers.py).
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
});
