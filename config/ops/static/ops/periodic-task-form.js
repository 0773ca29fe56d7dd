/* The periodic task form: the chosen crontab in words under its field (django-celery-beat's
   inline script, as a file so that the Content Security Policy needs no 'unsafe-inline'). */
'use strict';
{
    const script = document.currentScript;
    window.addEventListener('load', function() {
        const $ = django.jQuery;
        const readable = JSON.parse(document.getElementById('readable-crontabs').textContent);
        const originalHelp = script.dataset.crontabHelp || '';
        $('.field-crontab_translation').hide();
        $('.field-crontab').change(function() {
            const help = $('.field-crontab .help').empty();
            help.append(document.createTextNode(originalHelp), document.createElement('br'),
                        document.createTextNode('Translation: ' + (readable[$('#id_crontab').val()] || '')));
        });
    });
}
