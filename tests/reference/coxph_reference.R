# Reference values for the Cox engine (qualmodel.models.coxph / cox / cox_zph) and for
# Fine-Gray (qualmodel.models.fine_gray) from R's survival and cmprsk.
#
#   .venv/bin/python tests/reference/make_coxph_input.py
#   Rscript tests/reference/coxph_reference.R ../shared/data/maven_crm
#
# Writes tests/reference/coxph_coef.csv, coxph_fit.csv, coxph_zph.csv, fg_coef.csv, fg_cif.csv,
# coxph_versions.txt (17 significant digits). crr is run with gtol = 1e-10 (its default 1e-6
# stops early); on Maven cause 1 it still stalls (converged = FALSE, see tests).
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})

args <- commandArgs(trailingOnly = TRUE)
maven_dir <- if (length(args) >= 1) args[1] else "../shared/data/maven_crm"
here <- local({
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grep("^--file=", a)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})

write_ref <- function(df, name) {
  num <- vapply(df, is.numeric, logical(1))
  df[num] <- lapply(df[num], function(v) trimws(formatC(v, digits = 17, format = "g")))
  write.csv(df, file.path(here, name), row.names = FALSE, quote = TRUE)
}
qm_terms <- function(names, factors) {
  for (f in factors) {
    hit <- startsWith(names, f)
    names[hit] <- paste0(f, "=", substring(names[hit], nchar(f) + 1))
  }
  names
}

cont <- read.csv(file.path(here, "coxph_input.csv"), stringsAsFactors = FALSE)
cont$grade <- factor(cont$grade)
day <- cont
day$duration <- ceiling(day$duration)
inputs <- list(cont = cont, day = day)

# model name -> (formula, ties, weights?, robust?, cluster?)
specs <- list(
  efron = list(f = Surv(duration, event == 1) ~ grade + x1 + x2, ties = "efron"),
  breslow = list(f = Surv(duration, event == 1) ~ grade + x1 + x2, ties = "breslow"),
  strata = list(f = Surv(duration, event == 1) ~ grade + x1 + x2 + strata(s), ties = "efron"),
  weights = list(f = Surv(duration, event == 1) ~ grade + x1 + x2, ties = "efron", w = TRUE),
  robust = list(f = Surv(duration, event == 1) ~ grade + x1 + x2, ties = "efron", robust = TRUE),
  cluster = list(f = Surv(duration, event == 1) ~ grade + x1 + x2 + strata(s), ties = "breslow",
                 w = TRUE, cl = TRUE),
  event2 = list(f = Surv(duration, event == 2) ~ grade + x1 + x2, ties = "efron")
)

coef_rows <- list(); fit_rows <- list(); zph_rows <- list()
for (dn in names(inputs)) {
  d <- inputs[[dn]]
  for (mn in names(specs)) {
    m <- specs[[mn]]
    fit <- if (isTRUE(m$cl)) {
      coxph(m$f, data = d, ties = m$ties, weights = w, cluster = cl)
    } else if (isTRUE(m$w)) {
      coxph(m$f, data = d, ties = m$ties, weights = w)
    } else {
      coxph(m$f, data = d, ties = m$ties, robust = isTRUE(m$robust))
    }
    naive <- if (is.null(fit$naive.var)) fit$var else fit$naive.var
    coef_rows[[length(coef_rows) + 1]] <- data.frame(
      data = dn, model = mn, term = qm_terms(names(coef(fit)), "grade"),
      coef = unname(coef(fit)), se = sqrt(diag(fit$var)), se_naive = sqrt(diag(naive)))
    fit_rows[[length(fit_rows) + 1]] <- data.frame(
      data = dn, model = mn, n = fit$n, events = fit$nevent, iter = fit$iter,
      loglik_null = fit$loglik[1], loglik = fit$loglik[2])
    if (is.null(fit$naive.var)) {
      z <- cox.zph(fit, transform = "km")$table
      zph_rows[[length(zph_rows) + 1]] <- data.frame(
        data = dn, model = mn, term = rownames(z), chisq = z[, "chisq"], df = z[, "df"])
    }
  }
}
write_ref(do.call(rbind, coef_rows), "coxph_coef.csv")
write_ref(do.call(rbind, fit_rows), "coxph_fit.csv")
write_ref(do.call(rbind, zph_rows), "coxph_zph.csv")

# ---------------------------------------------------------------- Fine-Gray
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
mv$id <- seq_len(nrow(mv))

fg_sets <- list(
  list(data = "cont", d = cont, rhs = ~ grade + x1 + x2, factors = "grade"),
  list(data = "day", d = day, rhs = ~ grade + x1 + x2, factors = "grade"),
  list(data = "maven", d = mv, rhs = ~ product_series + regional_office,
       factors = c("product_series", "regional_office"))
)
fg_rows <- list(); cif_rows <- list()
for (s in fg_sets) {
  d <- s$d
  for (cause in 1:2) {
    cov <- model.matrix(s$rhs, d)[, -1, drop = FALSE]
    cr <- crr(d$duration, d$event, cov1 = cov, failcode = cause, cencode = 0,
              gtol = 1e-10, maxiter = 100)
    fg_rows[[length(fg_rows) + 1]] <- data.frame(
      data = s$data, cause = cause, method = "crr", term = qm_terms(colnames(cov), s$factors),
      coef = unname(cr$coef), se = sqrt(diag(cr$var)), se_naive = NA_real_,
      loglik = cr$loglik, converged = cr$converged)
    if (s$data == "cont" && cause == 1) {
      # predicted CIF: p1 = reference grade (high), x1 = 0, x2 = 0; p2 = mid, 0.5, 1
      pr <- predict(cr, cov1 = rbind(c(0, 0, 0, 0), c(0, 1, 0.5, 1)))
      cif_rows[[1]] <- data.frame(profile = rep(c("p1", "p2"), each = nrow(pr)),
                                  time = rep(pr[, 1], 2), cif = c(pr[, 2], pr[, 3]))
    }
    d$ev <- factor(d$event, levels = 0:2)
    fgd <- finegray(Surv(duration, ev) ~ ., data = d, etype = as.character(cause))
    f <- update(s$rhs, Surv(fgstart, fgstop, fgstatus) ~ .)
    fit <- coxph(f, data = fgd, weights = fgwt, cluster = id, ties = "breslow")
    fg_rows[[length(fg_rows) + 1]] <- data.frame(
      data = s$data, cause = cause, method = "finegray", term = qm_terms(names(coef(fit)),
      s$factors), coef = unname(coef(fit)), se = sqrt(diag(fit$var)),
      se_naive = sqrt(diag(fit$naive.var)), loglik = fit$loglik[2], converged = TRUE)
  }
}
write_ref(do.call(rbind, fg_rows), "fg_coef.csv")
write_ref(do.call(rbind, cif_rows), "fg_cif.csv")
writeLines(c(R.version.string, paste("survival", as.character(packageVersion("survival"))),
             paste("cmprsk", as.character(packageVersion("cmprsk")))),
           file.path(here, "coxph_versions.txt"))
