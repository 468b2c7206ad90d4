// Starts Swagger UI on the API documentation page from a file, not an inline script (the CSP
// allows no inline script). The OpenAPI document's URL comes from a data attribute.
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof SwaggerUIBundle === "undefined") return;
  SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    // No call to the public validator service: the portal works offline and sends nothing out.
    validatorUrl: null,
  });
});
