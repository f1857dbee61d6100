# Reference values for qualmodel.models (Cox, cox.zph, Weibull AFT) from R's survival.
#
#   .venv/bin/python tests/reference/make_cox_input.py
#   Rscript tests/reference/cox_reference.R ../shared/data/maven_crm
#
# The argument is the folder of the Maven CRM export (sales_pipeline.csv, products.csv,
# sales_teams.csv). Writes tests/reference/cox_coef.csv, cox_fit.csv, cox_zph.csv,
# aft_coef.csv and aft_fit.csv (17 significant digits).
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
maven_dir <- if (length(args) >= 1) args[1] else "../shared/data/maven_crm"
here <- local({
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grep("^--file=", a)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})

write_ref <- function(df, name) {
  out <- file.path(here, name)
  num <- vapply(df, is.numeric, logical(1))
  df[num] <- lapply(df[num], function(v) trimws(formatC(v, digits = 17, format = "g")))
  write.csv(df, out, row.names = FALSE, quote = TRUE)
}

# term names as qualmodel writes them: "<column>=<level>" for factor dummies
qm_terms <- function(names, factors) {
  for (f in factors) {
    hit <- startsWith(names, f)
    names[hit] <- paste0(f, "=", substring(names[hit], nchar(f) + 1))
  }
  names
}

# (a) fixed-seed simulated input (make_cox_input.py)
sim <- read.csv(file.path(here, "cox_input.csv"), stringsAsFactors = FALSE)
sim$plan <- factor(sim$plan)

# (b) Maven CRM: engage -> close days; Won = 1, Lost = 2, Engaging censored 2017-12-31
mv <- read.csv(file.path(maven_dir, "sales_pipeline.csv"), stringsAsFactors = FALSE)
mv <- mv[mv$deal_stage != "Prospecting", ]
mv$product[mv$product == "GTXPro"] <- "GTX Pro"
products <- read.csv(file.path(maven_dir, "products.csv"), stringsAsFactors = FALSE)
teams <- read.csv(file.path(maven_dir, "sales_teams.csv"), stringsAsFactors = FALSE)
mv$product_series <- factor(products$series[match(mv$product, products$product)])
mv$regional_office <- factor(teams$regional_office[match(mv$sales_agent, teams$sales_agent)])
close <- ifelse(mv$close_date == "" | is.na(mv$close_date), "2017-12-31", mv$close_date)
mv$duration <- as.numeric(as.Date(close) - as.Date(mv$engage_date))
mv$event <- ifelse(mv$deal_stage == "Won", 1L, ifelse(mv$deal_stage == "Lost", 2L, 0L))

models <- list(
  list(data = "sim", model = "main", d = sim, factors = "plan",
       f = Surv(duration, event == 1) ~ plan + score + partner),
  list(data = "sim", model = "competing", d = sim, factors = "plan",
       f = Surv(duration, event == 2) ~ plan + score + partner),
  list(data = "sim", model = "strata", d = sim, factors = "plan",
       f = Surv(duration, event == 1) ~ plan + score + strata(partner)),
  list(data = "maven", model = "main", d = mv, factors = c("product_series", "regional_office"),
       f = Surv(duration, event == 1) ~ product_series + regional_office)
)

coef_rows <- list(); fit_rows <- list(); zph_rows <- list()
aft_rows <- list(); aftfit_rows <- list()
for (m in models) {
  fit <- coxph(m$f, data = m$d, ties = "efron")
  s <- summary(fit)$coefficients
  coef_rows[[length(coef_rows) + 1]] <- data.frame(
    data = m$data, model = m$model, term = qm_terms(rownames(s), m$factors),
    coef = s[, "coef"], se = s[, "se(coef)"], z = s[, "z"], p_value = s[, "Pr(>|z|)"])
  fit_rows[[length(fit_rows) + 1]] <- data.frame(
    data = m$data, model = m$model, n = fit$n, events = fit$nevent,
    loglik_null = fit$loglik[1], loglik = fit$loglik[2],
    concordance = unname(fit$concordance["concordance"]))
  z <- cox.zph(fit, transform = "km")$table
  zph_rows[[length(zph_rows) + 1]] <- data.frame(
    data = m$data, model = m$model, term = rownames(z),
    chisq = z[, "chisq"], df = z[, "df"], p_value = z[, "p"])
  if (m$model == "strata") next
  w <- survreg(m$f, data = m$d, dist = "weibull")
  v <- vcov(w)
  cf <- c(coef(w), "Log(scale)" = log(w$scale))
  aft_rows[[length(aft_rows) + 1]] <- data.frame(
    data = m$data, model = m$model, term = qm_terms(names(cf), m$factors),
    coef = unname(cf), se = sqrt(diag(v))[seq_along(cf)])
  aftfit_rows[[length(aftfit_rows) + 1]] <- data.frame(
    data = m$data, model = m$model, n = nrow(m$d), loglik = w$loglik[2], scale = w$scale)
}
write_ref(do.call(rbind, coef_rows), "cox_coef.csv")
write_ref(do.call(rbind, fit_rows), "cox_fit.csv")
write_ref(do.call(rbind, zph_rows), "cox_zph.csv")
write_ref(do.call(rbind, aft_rows), "aft_coef.csv")
write_ref(do.call(rbind, aftfit_rows), "aft_fit.csv")
writeLines(c(R.version.string, paste("survival", as.character(packageVersion("survival")))),
           file.path(here, "cox_versions.txt"))
